"""cases.changed_in: the data version that last wrote each case, so analytics re-read only changes;
data_versions.epoch: the database's history, renewed by a restore

Revision ID: 5e2f0c7a91d4
Revises: 9c03e79ee057
Create Date: 2026-11-30 05:50:00

Existing rows get 0: they were all written at or before the current data version, which is what a
cached frame built from them already holds.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5e2f0c7a91d4'
down_revision = '9c03e79ee057'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('changed_in', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_cases_changed_in'), ['changed_in'], unique=False)
    with op.batch_alter_table('data_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('epoch', sa.String(length=32), server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('data_versions', schema=None) as batch_op:
        batch_op.drop_column('epoch')
    # On SQLite, dropping a column copies the table, and the copy would lose the expression index
    # (batch mode does not reflect it): drop it first and build it again after.
    op.drop_index('ix_cases_name_lower', table_name='cases')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_changed_in'))
        batch_op.drop_column('changed_in')
    op.create_index('ix_cases_name_lower', 'cases', [sa.text('lower(name)')], unique=False)
