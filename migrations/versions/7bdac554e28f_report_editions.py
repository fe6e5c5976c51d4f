"""report editions: each generated annual report (figures, changes, rendered file)

One row per generation of `tracker report annual` or the Reports page; editions are numbered per
(year, scope), scope being ALL or the federation code of a staff user's report. The file is kept
in `content` (deferred in the model) so the edition and its file are written in one transaction.

Revision ID: 7bdac554e28f
Revises: 1b5ca30d5d5f
Create Date: 2026-11-30 03:03:05.068115

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7bdac554e28f'
down_revision = '1b5ca30d5d5f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_editions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('scope', sa.String(length=32), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('federation_id', sa.Integer(), nullable=True),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('generated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('generated_by_id', sa.Integer(), nullable=True),
    sa.Column('app_version', sa.String(length=40), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('file_size', sa.Integer(), nullable=False),
    sa.Column('file_sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['federation_id'], ['federations.id'], name=op.f('fk_report_editions_federation_id_federations')),
    sa.ForeignKeyConstraint(['generated_by_id'], ['users.id'], name=op.f('fk_report_editions_generated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_editions')),
    sa.UniqueConstraint('year', 'scope', 'number', name=op.f('uq_report_editions_year_scope_number'))
    )


def downgrade():
    op.drop_table('report_editions')
