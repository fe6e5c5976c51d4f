"""case list indexes: ref, and lower(name) for the case-insensitive sort by name

Revision ID: 9c03e79ee057
Revises: 443ee59261e6
Create Date: 2026-11-30 03:47:00

Alembic's autogenerate does not compare expression indexes, so ix_cases_name_lower is written here
by hand (SQLite and PostgreSQL both support indexes on expressions).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c03e79ee057'
down_revision = '443ee59261e6'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_ref', ['ref'], unique=False)
    op.create_index('ix_cases_name_lower', 'cases', [sa.text('lower(name)')], unique=False)


def downgrade():
    op.drop_index('ix_cases_name_lower', table_name='cases')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_ref')
