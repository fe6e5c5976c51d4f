"""duplicate_hint_allowances: the daily count of hints about other federations' cases, per user

Revision ID: a8d3e6f1c2b9
Revises: f3c8a1d6b2e5
Create Date: 2026-12-04 13:45:00

The count was kept in the rate-limit storage (a process's memory unless Redis is configured),
so a restart or a second worker without Redis started it again. Nothing to carry over: every
user starts the window with a full allowance.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a8d3e6f1c2b9'
down_revision = 'f3c8a1d6b2e5'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'duplicate_hint_allowances',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_duplicate_hint_allowances_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', name=op.f('pk_duplicate_hint_allowances')),
    )


def downgrade():
    op.drop_table('duplicate_hint_allowances')
