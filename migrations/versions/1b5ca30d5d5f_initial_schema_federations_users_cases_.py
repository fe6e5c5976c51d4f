"""initial schema: federations, users, cases, status checks, audit, baselines

Revision ID: 1b5ca30d5d5f
Revises: 
Create Date: 2026-11-30 02:39:31.914997

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1b5ca30d5d5f'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('baselines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series', sa.String(length=40), nullable=False),
    sa.Column('country', sa.String(length=8), nullable=False),
    sa.Column('region', sa.String(length=16), nullable=False),
    sa.Column('sector', sa.String(length=16), nullable=False),
    sa.Column('sector_label', sa.String(length=200), nullable=True),
    sa.Column('cohort_year', sa.Integer(), nullable=False),
    sa.Column('horizon_years', sa.Integer(), nullable=False),
    sa.Column('survival_pct', sa.Double(), nullable=False),
    sa.Column('publisher', sa.String(length=200), nullable=False),
    sa.Column('source_title', sa.Text(), nullable=False),
    sa.Column('published', sa.String(length=20), nullable=True),
    sa.Column('url', sa.Text(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_baselines')),
    sa.UniqueConstraint('series', 'country', 'region', 'sector', 'cohort_year', 'horizon_years', name=op.f('uq_baselines_series_country_region_sector_cohort_year_horizon_years'))
    )
    op.create_table('data_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_data_versions'))
    )
    op.create_table('federations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_federations')),
    sa.UniqueConstraint('code', name=op.f('uq_federations_code'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=256), nullable=False),
    sa.Column('role', sa.Enum('admin', 'staff', 'researcher', name='role', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('federation_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('session_nonce', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['federation_id'], ['federations.id'], name=op.f('fk_users_federation_id_federations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_federation_id'), ['federation_id'], unique=False)

    op.create_table('audit_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('table_name', sa.String(length=50), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('changes', sa.JSON(), nullable=False),
    sa.Column('context', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_entries_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_entries'))
    )
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_entries_at'), ['at'], unique=False)
        batch_op.create_index('ix_audit_entries_target', ['table_name', 'row_id'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('federation_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('national_id', sa.String(length=64), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('region', sa.String(length=16), nullable=True),
    sa.Column('nace', sa.String(length=8), nullable=True),
    sa.Column('nace_section', sa.String(length=1), nullable=True),
    sa.Column('employees', sa.Integer(), nullable=True),
    sa.Column('transfer_date', sa.Date(), nullable=False),
    sa.Column('transfer_type', sa.Enum('succession', 'rescue', 'conversion', 'other', name='transfer_type', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('legal_form', sa.String(length=100), nullable=True),
    sa.Column('registered_on', sa.Date(), nullable=False),
    sa.Column('last_verified_on', sa.Date(), nullable=True),
    sa.Column('exit_date', sa.Date(), nullable=True),
    sa.Column('exit_reason', sa.Enum('liquidation', 'dissolution', 'sold', 'merged', 'demutualised', 'other', name='exit_reason', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('contact_name', sa.String(length=200), nullable=True),
    sa.Column('contact_email', sa.String(length=254), nullable=True),
    sa.Column('contact_phone', sa.String(length=50), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.CheckConstraint('(exit_date IS NULL) = (exit_reason IS NULL)', name=op.f('ck_cases_exit_has_reason')),
    sa.CheckConstraint('employees IS NULL OR employees >= 0', name=op.f('ck_cases_employees_non_negative')),
    sa.CheckConstraint('exit_date IS NULL OR exit_date >= transfer_date', name=op.f('ck_cases_exit_after_transfer')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_cases_created_by_id_users')),
    sa.ForeignKeyConstraint(['deleted_by_id'], ['users.id'], name=op.f('fk_cases_deleted_by_id_users')),
    sa.ForeignKeyConstraint(['federation_id'], ['federations.id'], name=op.f('fk_cases_federation_id_federations')),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_cases_updated_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('federation_id', 'ref', name=op.f('uq_cases_federation_id_ref'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_country'), ['country'], unique=False)
        batch_op.create_index('ix_cases_federation_deleted', ['federation_id', 'deleted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_name'), ['name'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_national_id'), ['national_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_transfer_date'), ['transfer_date'], unique=False)

    op.create_table('status_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('checked_on', sa.Date(), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('corrects_id', sa.Integer(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_status_checks_case_id_cases')),
    sa.ForeignKeyConstraint(['corrects_id'], ['status_checks.id'], name=op.f('fk_status_checks_corrects_id_status_checks')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_status_checks_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_checks'))
    )
    with op.batch_alter_table('status_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_status_checks_case_id'), ['case_id'], unique=False)




def downgrade():

    with op.batch_alter_table('status_checks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_status_checks_case_id'))

    op.drop_table('status_checks')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_transfer_date'))
        batch_op.drop_index(batch_op.f('ix_cases_national_id'))
        batch_op.drop_index(batch_op.f('ix_cases_name'))
        batch_op.drop_index('ix_cases_federation_deleted')
        batch_op.drop_index(batch_op.f('ix_cases_country'))

    op.drop_table('cases')
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_entries_target')
        batch_op.drop_index(batch_op.f('ix_audit_entries_at'))

    op.drop_table('audit_entries')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_federation_id'))

    op.drop_table('users')
    op.drop_table('federations')
    op.drop_table('data_versions')
    op.drop_table('baselines')

