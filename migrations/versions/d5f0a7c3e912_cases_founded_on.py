"""cases.founded_on: the date the enterprise was created (optional), on or before the transfer

Revision ID: d5f0a7c3e912
Revises: d5b2f9a3c8e4
Create Date: 2026-12-03 12:30:00

It gives the enterprise's age at the transfer (the `age_band` grouping and the `age_at_transfer`
Cox covariate). Existing cases have no founding date: the column is nullable and nothing is filled in. The rule
"on or before the transfer" is the validator's (services.casework.cases), not a CHECK constraint:
adding one would make SQLite rebuild the cases table (and drop its expression index).
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5f0a7c3e912'
down_revision = 'd5b2f9a3c8e4'
branch_labels = None
depends_on = None


# Plain ALTER TABLE (SQLite 3.35+ drops a column in place): a batch operation would rebuild the
# table and lose its expression index ix_cases_name_lower, which SQLite cannot reflect.
def upgrade():
    op.add_column('cases', sa.Column('founded_on', sa.Date(), nullable=True))


def downgrade():
    op.drop_column('cases', 'founded_on')
