"""users.must_change_password: an account created on the web with an initial password must set
its own at first login

Revision ID: d5b2f9a3c8e4
Revises: d5e2f1a9c8b4
Create Date: 2026-12-03 13:05:00

Existing accounts (and those created at the command line or by the quickstart) are not forced.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd5b2f9a3c8e4'
down_revision = 'd5e2f1a9c8b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('must_change_password')
