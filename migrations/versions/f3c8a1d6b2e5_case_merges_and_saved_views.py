"""cases.merged_into_id (an admin merged the case into another) and saved_views (a user's saved case-list filters)

Revision ID: f3c8a1d6b2e5
Revises: e7b2c9d4a1f3
Create Date: 2026-12-03 17:00:00

A merged case is soft-deleted and points at the case it was merged into; undoing the merge clears
both. Existing cases were never merged: the column is nullable and nothing is filled in.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f3c8a1d6b2e5'
down_revision = 'e7b2c9d4a1f3'
branch_labels = None
depends_on = None

_FK = 'fk_cases_merged_into_id_cases'


# Plain ALTER TABLE, the foreign key written inline on SQLite: a batch operation would rebuild the
# cases table and lose its expression index ix_cases_name_lower, which SQLite cannot reflect.
def upgrade():
    if op.get_context().dialect.name == 'sqlite':
        op.add_column('cases', sa.Column('merged_into_id', sa.Integer(), sa.ForeignKey('cases.id', name=_FK),
                                         nullable=True), inline_references=True)
    else:
        op.add_column('cases', sa.Column('merged_into_id', sa.Integer(), nullable=True))
        op.create_foreign_key(_FK, 'cases', 'cases', ['merged_into_id'], ['id'])
    op.create_table(
        'saved_views',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('query', sa.String(length=2000), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_saved_views_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_views')),
        sa.UniqueConstraint('user_id', 'name', name=op.f('uq_saved_views_user_id_name')),
    )


def downgrade():
    op.drop_table('saved_views')
    if op.get_context().dialect.name != 'sqlite':
        op.drop_constraint(_FK, 'cases', type_='foreignkey')
    op.drop_column('cases', 'merged_into_id')
