"""report jobs: annual reports generated in the background for web users

Revision ID: 9937343a168e
Revises: 5e2f0c7a91d4
Create Date: 2026-11-30 05:34:48.289210

The web page queues a job and a background thread of the app process generates the edition.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9937343a168e'
down_revision = '5e2f0c7a91d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=False),
    sa.Column('federation_id', sa.Integer(), nullable=True),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('format', sa.String(length=8), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('stage', sa.String(length=120), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('edition_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['edition_id'], ['report_editions.id'], name=op.f('fk_report_jobs_edition_id_report_editions')),
    sa.ForeignKeyConstraint(['federation_id'], ['federations.id'], name=op.f('fk_report_jobs_federation_id_federations')),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_report_jobs_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_jobs'))
    )


def downgrade():
    op.drop_table('report_jobs')
