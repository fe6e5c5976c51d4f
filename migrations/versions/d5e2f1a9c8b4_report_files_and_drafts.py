"""report editions: one edition per data snapshot with its files (format × language); drafts;
the job's language and queue

Revision ID: d5e2f1a9c8b4
Revises: c4a1e8f2b7d3
Create Date: 2026-12-03 12:30:00

An edition used to be one row per generated file, each with a new number. Now the edition is
the data snapshot (number, fingerprint, figures, changes) and `report_files` holds its rendered
files. Existing rows become editions with one (English) file each.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5e2f1a9c8b4'
down_revision = 'c4a1e8f2b7d3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'report_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('edition_id', sa.Integer(), nullable=False),
        sa.Column('format', sa.String(length=8), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('filename', sa.String(length=200), nullable=False),
        sa.Column('media_type', sa.String(length=100), nullable=False),
        sa.Column('file_size', sa.Integer(), nullable=False),
        sa.Column('file_sha256', sa.String(length=64), nullable=False),
        sa.Column('content', sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(['edition_id'], ['report_editions.id'],
                                name=op.f('fk_report_files_edition_id_report_editions'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_files')),
        sa.UniqueConstraint('edition_id', 'format', 'language',
                            name=op.f('uq_report_files_edition_id_format_language')),
    )
    op.execute("INSERT INTO report_files (edition_id, format, language, filename, media_type, file_size, "
               "file_sha256, content) SELECT id, format, 'en', filename, media_type, file_size, file_sha256, content "
               "FROM report_editions")
    with op.batch_alter_table('report_editions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('official', sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=True)
        for column in ('format', 'filename', 'media_type', 'file_size', 'file_sha256', 'content'):
            batch_op.drop_column(column)
    with op.batch_alter_table('report_jobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('reused', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('report_jobs', schema=None) as batch_op:
        batch_op.drop_column('reused')
        batch_op.drop_column('language')
    with op.batch_alter_table('report_editions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('format', sa.String(length=8), nullable=False, server_default='pdf'))
        batch_op.add_column(sa.Column('filename', sa.String(length=200), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('media_type', sa.String(length=100), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('file_size', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('file_sha256', sa.String(length=64), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('content', sa.LargeBinary(), nullable=True))
    # One file per edition survives the downgrade (the first); drafts get number 0 (never listed before).
    op.execute("UPDATE report_editions SET format = f.format, filename = f.filename, media_type = f.media_type, "
               "file_size = f.file_size, file_sha256 = f.file_sha256, content = f.content FROM "
               "(SELECT * FROM report_files WHERE id IN (SELECT min(id) FROM report_files GROUP BY edition_id)) AS f "
               "WHERE f.edition_id = report_editions.id")
    op.execute("UPDATE report_jobs SET edition_id = NULL WHERE edition_id IN "
               "(SELECT id FROM report_editions WHERE number IS NULL)")
    op.execute("DELETE FROM report_editions WHERE number IS NULL")
    with op.batch_alter_table('report_editions', schema=None) as batch_op:
        batch_op.alter_column('number', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('official')
    op.drop_table('report_files')
