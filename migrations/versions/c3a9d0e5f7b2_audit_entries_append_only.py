"""audit entries append-only: triggers refuse UPDATE, DELETE (and TRUNCATE) on audit_entries

The ORM guard only stops the application's own sessions; these stop raw SQL too. The same SQL is
in tracker/models/audit.py (APPEND_ONLY_DDL) for databases built by create_all.

Revision ID: c3a9d0e5f7b2
Revises: b7e41c2d9a10
Create Date: 2026-12-03 09:05:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'c3a9d0e5f7b2'
down_revision = 'b7e41c2d9a10'
branch_labels = None
depends_on = None

MESSAGE = "audit entries are append-only"
SQLITE = [
    f"CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
    f"CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries "
    f"BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END",
]
POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION audit_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN RAISE EXCEPTION '{MESSAGE} (% refused)', TG_OP "
    "USING ERRCODE = 'insufficient_privilege'; END $$",
    "CREATE TRIGGER audit_entries_append_only BEFORE UPDATE OR DELETE ON audit_entries "
    "FOR EACH ROW EXECUTE FUNCTION audit_entries_append_only()",
    "CREATE TRIGGER audit_entries_no_truncate BEFORE TRUNCATE ON audit_entries "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_entries_append_only()",
]


def upgrade():
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE, "postgresql": POSTGRESQL}.get(dialect, []):
        op.execute(statement)


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_delete")
    elif dialect == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_no_truncate ON audit_entries")
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS audit_entries_append_only()")
