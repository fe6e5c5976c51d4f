"""distinct case pairs: possible duplicates that a user confirmed to be different enterprises

Duplicate detection (same national id and country, or a very similar name in the same country
with a transfer in the same year) never reports a pair stored here again. One row per pair,
lower case id first (CHECK case_id < other_case_id).

Revision ID: 9c9e5f434494
Revises: 7bdac554e28f
Create Date: 2026-11-30 03:24:25.703328

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9c9e5f434494'
down_revision = '7bdac554e28f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('distinct_case_pairs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('other_case_id', sa.Integer(), nullable=False),
    sa.Column('confirmed_by_id', sa.Integer(), nullable=True),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('case_id < other_case_id', name=op.f('ck_distinct_case_pairs_ordered_pair')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_distinct_case_pairs_case_id_cases')),
    sa.ForeignKeyConstraint(['confirmed_by_id'], ['users.id'], name=op.f('fk_distinct_case_pairs_confirmed_by_id_users')),
    sa.ForeignKeyConstraint(['other_case_id'], ['cases.id'], name=op.f('fk_distinct_case_pairs_other_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_distinct_case_pairs')),
    sa.UniqueConstraint('case_id', 'other_case_id', name=op.f('uq_distinct_case_pairs_case_id_other_case_id'))
    )
    with op.batch_alter_table('distinct_case_pairs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_distinct_case_pairs_other_case_id'), ['other_case_id'], unique=False)


def downgrade():
    with op.batch_alter_table('distinct_case_pairs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_distinct_case_pairs_other_case_id'))
    op.drop_table('distinct_case_pairs')
