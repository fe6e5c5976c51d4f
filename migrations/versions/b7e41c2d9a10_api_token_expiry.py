"""api token expiry: an optional date from which a token no longer works

Tokens issued before this revision keep working (no expiry); new ones default to a year.

Revision ID: b7e41c2d9a10
Revises: 9937343a168e
Create Date: 2026-12-03 08:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e41c2d9a10'
down_revision = '9937343a168e'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_on', sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_on')
