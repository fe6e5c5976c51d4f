"""The report in the reader's language, and intervals R does not define."""

from __future__ import annotations

from datetime import date

from flask_babel import force_locale

from tests.conftest import ORACLE_DIR
from tracker.extensions import db
from tracker.models import Role
from tracker.reports.build.annual import build_annual
from tracker.reports.editions import generate_edition
from tracker.reports.render.html import render_html
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.baselines import import_baselines, shipped_baselines
from tracker.services.spreadsheets.imports import import_cases

TODAY = date(2026, 6, 30)


def test_the_french_report_is_written_as_a_french_reader_expects(app, make_federation):
    analytics.clear_cache()
    fed = make_federation(code="ORACLE", name="Oracle federation")
    assert not import_cases(None, fed, (ORACLE_DIR / "cases.csv").read_bytes(), "cases.csv", dry_run=False).problems
    assert not import_baselines(None, shipped_baselines()).problems
    db.session.commit()
    edition = generate_edition(None, 2025, "html", language="fr", today=TODAY).edition
    html = edition.file("html", "fr").content.decode()
    assert '<html lang="fr">' in html
    assert "Sur 10 entreprises reprises par leurs salariés, " in html
    assert "sont toujours en activité cinq ans plus tard" in html
    assert "Lecture\u00a0:" in html and "Champ\u00a0:" in html and "Source\u00a0:" in html
    assert "31 décembre 2025" in html and "66,4" in html and "Taux de pérennité" in html
    for english in ("Reading:", "Five years after", "Survival by transfer type", "Annex:"):
        assert english not in html, english


def test_an_undefined_interval_is_a_dash_with_its_note_never_100_to_100(app, make_federation, make_case, make_user):
    analytics.clear_cache()
    fed = make_federation(code="CALM", name="Calm federation")
    for i in range(8):  # no closure at all: S = 1, and R's log(-log) interval is NA
        make_case(fed, transfer_date=date(2016, 1 + i, 1), registered_on=date(2016, 1 + i, 1),
                  last_verified_on=date(2023 + i % 3, 6, 30))
    report = build_annual(make_user(Role.STAFF, federation=fed), 2025, today=TODAY)
    html = render_html(report)
    assert "100.0–100.0" not in html and "100,0–100,0" not in html
    assert '<span class="ci">—</span>' in html
    assert "no confidence interval, because no closure has occurred yet" in html
    with force_locale("es"):
        assert "sin intervalo de confianza" in render_html(report)


ENGLISH_SOURCE_WORDS = ("Regulation (EC)", "RAMON export", "shipped as", "reported by", "undated",
                        "extract in the public repository", "survival rate", "Eurostat business demography",
                        "consolidated in", "network)", "figures)", "Case registers", "command line", "de les ")


def test_the_french_reports_sources_are_written_in_french(app, make_federation):
    """Citations keep the publications' own titles; what the app says about them is in French."""
    import html as html_module
    import io
    import zipfile

    analytics.clear_cache()
    fed = make_federation(code="ORACLE", name="Oracle federation")
    assert not import_cases(None, fed, (ORACLE_DIR / "cases.csv").read_bytes(), "cases.csv", dry_run=False).problems
    assert not import_baselines(None, shipped_baselines()).problems
    db.session.commit()
    edition = generate_edition(None, 2025, "html", language="fr", today=TODAY).edition
    text = html_module.unescape(edition.file("html", "fr").content.decode()).replace("\u00a0", " ")
    assert "règlement (CE) n° 1893/2006 (export de la base RAMON d’Eurostat)" in text
    assert "Démographie des entreprises d’Eurostat, table bd_9bd_sz_cl_r2" in text
    assert "Registres des dossiers des fédérations membres tenus dans Transfer Tracker" in text
    assert "Insee Première n° 1441, Les entreprises créées en 2006" in text, "titles stay as published"
    for english in ENGLISH_SOURCE_WORDS:
        assert english not in text, english
    with zipfile.ZipFile(io.BytesIO(edition.file("csv", "fr").content)) as archive:
        readme = archive.read("README.txt").decode("utf-8-sig").replace("\u00a0", " ")
    assert "Source : Registres des dossiers des fédérations membres" in readme
    for english in ENGLISH_SOURCE_WORDS:
        assert english not in readme, english
