"""users.language: the interface language a user chose (en, fr, it, es); empty follows the browser

Revision ID: c4a1e8f2b7d3
Revises: c3a9d0e5f7b2
Create Date: 2026-12-03 08:50:00

No CHECK constraint: the languages offered are the catalogues shipped (tracker.i18n.LANGUAGES),
and adding one must not need a migration; the account service refuses any other value.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4a1e8f2b7d3'
down_revision = 'c3a9d0e5f7b2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), nullable=True))


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
