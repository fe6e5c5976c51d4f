"""The annual report and its jobs speak the instance's and the reader's language: the command's
default report language is the instance's (BABEL_DEFAULT_LOCALE), its console messages are in the
CLI's language, the web form offers the reader's language first, a job's stage is written out in
the reader's language, and codes such as the age bands never reach a reader."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pytest
from flask_babel import force_locale, refresh

from config import TestingConfig
from tests.functional.support_research import load_oracle
from tracker.extensions import db
from tracker.models import ExitReason, ReportEdition, ReportJob, Role
from tracker.reports import jobs
from tracker.reports.build.common import group_label, group_order
from tracker.reports.build.inputs import STAGES
from tracker.services.analytics import queries as analytics
from tracker.services.analytics.explorer import group_label_of


class ItalianInstance(TestingConfig):
    BABEL_DEFAULT_LOCALE = "it"


@pytest.fixture
def app_config() -> type[TestingConfig]:
    return ItalianInstance


@pytest.fixture
def oracle(app, make_federation):
    return load_oracle(make_federation, baselines=True, name="Oracle federation")


def test_the_report_command_writes_the_instance_language_by_default(oracle, runner, tmp_path, monkeypatch):
    monkeypatch.delenv("TRACKER_LANG", raising=False)
    refresh()
    path = tmp_path / "report.html"
    result = runner.invoke(args=["report", "annual", "2025", "--format", "html", "--output", str(path)])
    assert result.exit_code == 0, result.output
    assert '<html lang="it">' in path.read_text()
    edition = db.session.query(ReportEdition).one()
    assert edition.languages == ["it"] or set(edition.languages) == {"it"}
    assert "Rapporto annuale 2025, edizione 1" in result.output and "italiano" in result.output
    assert "Annual report 2025" not in result.output


def test_tracker_lang_changes_the_console_not_the_report(oracle, runner, tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_LANG", "fr")
    refresh()
    path = tmp_path / "report.html"
    result = runner.invoke(args=["report", "annual", "2025", "--format", "html", "--output", str(path)])
    assert result.exit_code == 0, result.output
    assert '<html lang="it">' in path.read_text(), "the report is the instance's"
    assert "italien" in result.output and "Empreinte des données" not in path.read_text()
    refused = runner.invoke(args=["report", "annual", "2025", "--as-of", "2999-01-01", "--lang", "es",
                                  "--output", str(tmp_path / "r.pdf")])
    assert refused.exit_code == 1
    assert "la date de référence 01/01/2999 est dans le futur" in refused.output, "the console's language, not es"
    explicit = runner.invoke(args=["report", "annual", "2025", "--format", "html", "--lang", "en",
                                   "--output", str(tmp_path / "en.html")])
    assert explicit.exit_code == 0 and '<html lang="en">' in (tmp_path / "en.html").read_text()


def test_the_report_form_offers_the_readers_language(client, login, make_user):
    user = make_user(Role.RESEARCHER)
    login(user=user)
    page = client.get("/reports/").get_data(as_text=True)
    assert '<option selected value="it">' in page, "no language of the user's own: the instance's"
    user.language = "es"
    db.session.commit()
    page = client.get("/reports/").get_data(as_text=True)
    assert '<option selected value="es">' in page


@pytest.mark.parametrize("stage, expected", [
    ("Survival by transfer type", "Sopravvivenza per tipo di trasferimento"),
    ("Fingerprinting the data", "Impronta dei dati"),
    ("render:pdf", "Composizione: PDF"),
    ("queued:3", "3"),
    (None, "In attesa di avvio"),
])
def test_a_jobs_stage_is_shown_in_the_readers_language(client, login, stage, expected):
    user = login(Role.RESEARCHER)
    job = ReportJob(requested_by_id=user.id, year=2025, format="pdf", status=jobs.RUNNING, stage=stage)
    db.session.add(job)
    db.session.commit()
    html = client.get(f"/reports/jobs/{job.id}").get_data(as_text=True)
    assert expected in html
    assert stage is None or stage not in html or stage == expected
    assert expected in client.get("/reports/").get_data(as_text=True)


def test_every_stage_and_format_has_its_translation(app):
    from tracker.reports.editions import FORMATS, render_stage

    for language in ("fr", "it", "es"):
        with app.test_request_context(), force_locale(language):
            for stage in (*STAGES, jobs.WAITING, jobs.STARTING, *(render_stage(k) for k in FORMATS), "queued:1"):
                text = jobs.stage_text(stage)
                assert text and text != stage and not text.startswith(("render:", "queued:")), (language, stage)
            assert "1" in jobs.stage_text("queued:1")


def test_age_bands_read_as_labels_in_the_report_and_the_explorer(app):
    with app.test_request_context(), force_locale("en"):
        assert [group_label("age_band", c) for c in group_order("age_band", ["20+", "unknown", "<5", "5-19"])] == [
            "Under 5 years old", "5 to 19 years old", "20 years old or more", "Not recorded"]
        assert [group_label_of("age_band", c) for c in ("<5", "5-19", "20+")] == [
            "Under 5 years old", "5 to 19 years old", "20 years old or more"]
    with app.test_request_context(), force_locale("fr"):
        assert group_label_of("age_band", "<5") != "<5" and group_label("age_band", "20+") != "20+"


def test_the_explorer_grouped_by_age_band_shows_no_band_code(client, login, make_federation, make_case):
    analytics.clear_cache()
    fed = make_federation(code="AGED")
    rng = np.random.default_rng(7)
    for i in range(60):
        founded = (date(2013, 1, 1), date(2005, 1, 1), date(1980, 1, 1))[i % 3]
        closes = rng.random() < 0.4
        make_case(fed, ref=f"A-{i}", founded_on=founded, transfer_date=date(2015, 3, 1),
                  registered_on=date(2015, 3, 1),
                  exit_date=date(2018 + i % 5, 6, 1) if closes else None,
                  exit_reason=ExitReason.LIQUIDATION if closes else None,
                  last_verified_on=None if closes else date(2024, 12, 31))
    login(Role.RESEARCHER)
    html = client.get("/research/?as_of=2025-12-31&group_by=age_band&lang=en&model=cox&covariates=age_band"
                      ).get_data(as_text=True)
    text = re.sub(r"<[^>]*>", " ", html)  # what a reader sees (attributes keep the codes)
    assert "Under 5 years old" in text and "20 years old or more" in text
    assert "age at transfer: 5 to 19 years old vs 20 years old or more" in text.lower()
    for code in ("&lt;5", " 5-19 ", "20+"):
        assert code not in text, code


def test_the_survival_commands_help_is_translated(monkeypatch):
    from click import Context

    from tracker import create_app
    from tracker.cli import survival

    monkeypatch.setenv("TRACKER_LANG", "es")
    create_app(TestingConfig)
    helps = {p.name: p.help for p in survival.params}
    assert survival.help.startswith("Supervivencia (Kaplan-Meier) de las empresas transmitidas")
    assert helps["horizons"] == "años enteros, separados por comas"
    assert helps["where"] == "filtro; repítalo para combinar"
    assert all(helps.values()), "every option says what it does"
    assert "años enteros" in survival.get_help(Context(survival))
    monkeypatch.setenv("TRACKER_LANG", "en")
    create_app(TestingConfig)
    assert {p.name: p.help for p in survival.params}["horizons"] == "whole years, comma-separated"
