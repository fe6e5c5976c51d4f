"""baselines.country: ISO codes (GB, GR) where rows imported earlier say Eurostat's UK and EL

Revision ID: e7b2c9d4a1f3
Revises: d5f0a7c3e912
Create Date: 2026-12-03 12:40:00

The shipped figures and the import now use ISO 3166-1 codes, as cases do. A row whose ISO twin
already exists (same series, region, sector, cohort and horizon) is the same figure twice: the
Eurostat-coded one is removed. No schema change; downgrade leaves the codes as they are.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'e7b2c9d4a1f3'
down_revision = 'd5f0a7c3e912'
branch_labels = None
depends_on = None

_KEY = ("series", "region", "sector", "cohort_year", "horizon_years")


def upgrade():
    for old, new in (("UK", "GB"), ("EL", "GR")):
        same = " AND ".join(f"(t.{c} = baselines.{c} OR (t.{c} IS NULL AND baselines.{c} IS NULL))" for c in _KEY)
        op.execute(f"DELETE FROM baselines WHERE country = '{old}' AND EXISTS "
                   f"(SELECT 1 FROM baselines t WHERE t.country = '{new}' AND {same})")
        op.execute(f"UPDATE baselines SET country = '{new}' WHERE country = '{old}'")


def downgrade():
    pass
