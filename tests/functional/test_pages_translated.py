"""The pages, rendered in French, Italian and Spanish, show no English word of the interface. A word
counts as English when it occurs in an English message of the catalogue and in none of that
language's translations; proper names are allowed, and data shown as recorded is marked
`translate="no"` (names, notes, cited titles).

Pages covered: login, the account pages (settings, password, API tokens) for every role, the error
pages, every admin page (with its flashes, a refused form and audit entries), the survival explorer
(its figures, the heat map, a group's case list, the methods page), the staff start page, and every
casework page with realistic content: the case list with filters (one not understood) and an empty
one, a case page with follow-ups, a withdrawn exit and its history, the new and edit forms with their
errors, the import page and its column help, import reviews with problems, the status check's upload,
its reviews and its recorded page, the follow-up completeness and a possible duplicate pair; the
reports page with a kept edition and one being generated, and a job's page. Dates and numbers on a
French page are written the French way (31/12/2025, 1 234).

Not covered yet: the annual report's own HTML (its table of published comparisons shows the cited
sources' English wording, not yet marked as recorded data)."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tracker.extensions import db
from tracker.models import ExitReason, Role, TransferType

TRANSLATIONS = Path(__file__).resolve().parents[2] / "tracker" / "translations"
ALLOWED = {"transfer", "tracker", "api", "json", "csrf", "token", "tokens", "bearer", "authorization", "code",
           "utf", "bom", "nace", "insee", "istat", "ine", "eurostat", "cgscop", "legacoop", "coceta", "scop",
           "english", "français", "italiano", "español", "france"}
WORD = re.compile(r"[^\W\d_]{3,}")
ANONYMOUS_PAGES = ["/login", "/no-such-page"]
ACCOUNT_PAGES = ["/account/profile", "/account/password", "/account/tokens"]


class _VisibleText(HTMLParser):
    """Text a reader sees or hears: text nodes outside script/style/code, and labelling attributes.
    Data shown as recorded (names, the titles of cited sources) is marked `translate="no"`, as HTML
    says of text a translator must leave alone, and is skipped."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._data = 0  # depth inside an element marked translate="no"
        self._data_tag = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._data:
            self._data += tag == self._data_tag
            return
        if ("translate", "no") in attrs:
            self._data, self._data_tag = 1, tag
            return
        if tag in ("script", "style", "code"):
            self._skip += 1
        self.parts.extend(value or "" for name, value in attrs if name in ("title", "aria-label", "placeholder"))

    def handle_endtag(self, tag: str) -> None:
        if self._data:
            self._data -= tag == self._data_tag
            return
        if tag in ("script", "style", "code") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip and not self._data:
            self.parts.append(data)


def _english_words(language: str) -> set[str]:
    with (TRANSLATIONS / language / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        catalogue = read_po(fh)
    english: set[str] = set()
    local: set[str] = set()
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        english.update(w.lower() for text in ids for w in WORD.findall(re.sub(r"<[^>]+>|%\(\w+\)s", " ", text)))
        local.update(w.lower() for text in strings for w in WORD.findall(text))
    return english - local - ALLOWED


def _english_left(html: str, words: set[str]) -> set[str]:
    parser = _VisibleText()
    parser.feed(html)
    text = re.sub(r"\S+@\S+", " ", " ".join(parser.parts))  # e-mail addresses are data
    return {w for w in WORD.findall(text.lower()) if w in words}


@pytest.mark.parametrize("language", ["fr", "it", "es"])
def test_anonymous_pages_have_no_english_left(client, language):
    words = _english_words(language)
    for path in ANONYMOUS_PAGES:
        html = client.get(f"{path}?lang={language}").get_data(as_text=True)
        assert f'<html lang="{language}">' in html
        assert not _english_left(html, words), path + ": " + " ".join(sorted(_english_left(html, words)))


@pytest.mark.parametrize("language", ["fr", "it", "es"])
@pytest.mark.parametrize("role", [Role.ADMIN, Role.STAFF, Role.RESEARCHER])
def test_account_pages_have_no_english_left(client, login, make_user, role, language):
    user = make_user(role)
    user.language = language
    db.session.commit()
    login(user=user)
    client.post("/account/tokens", data={"name": "carnet"})
    words = _english_words(language)
    for path in ACCOUNT_PAGES:
        html = client.get(path).get_data(as_text=True)
        assert f'<html lang="{language}">' in html
        assert not _english_left(html, words), path + ": " + " ".join(sorted(_english_left(html, words)))


def _admin_pages(client, make_federation, make_user) -> dict[str, str]:
    """Every admin page, with a federation, accounts, audit entries, flashes and a refused form."""
    fed = make_federation(code="FR-CGSCOP", name="Confédération générale des Scop", country="FR")
    staff = make_user(Role.STAFF, federation=fed)
    pages = {
        "create federation": client.post("/admin/federations/new", follow_redirects=True,
                                         data={"code": "IT-LEGA", "name": "Legacoop", "country": "IT"}),
        "refused federation": client.post("/admin/federations/new", data={"code": "", "name": "", "country": ""}),
        "edit user": client.post(f"/admin/users/{staff.id}", follow_redirects=True,
                                 data={"role": "researcher", "federation": "", "language": "es"}),
        "deactivate user": client.post(f"/admin/users/{staff.id}/deactivate", follow_redirects=True),
        "deactivate federation": client.post(f"/admin/federations/{fed.id}/deactivate", follow_redirects=True),
        "refused password": client.post(f"/admin/users/{staff.id}/password", data={"password": "x", "confirm": "y"}),
    }
    for path in ["/admin/", "/admin/federations", "/admin/federations/new", f"/admin/federations/{fed.id}",
                 "/admin/users", "/admin/users/new", f"/admin/users/{staff.id}", f"/admin/users/{staff.id}/password"]:
        pages[path] = client.get(path)
    for name, response in pages.items():
        assert response.status_code == 200, name
    return {name: response.get_data(as_text=True) for name, response in pages.items()}


@pytest.mark.parametrize("language", ["fr", "it", "es"])
def test_admin_pages_have_no_english_left(client, login, make_user, make_federation, language):
    admin = make_user(Role.ADMIN)
    admin.language = language
    db.session.commit()
    login(user=admin)
    words = _english_words(language)
    for name, html in _admin_pages(client, make_federation, make_user).items():
        assert f'<html lang="{language}">' in html, name
        assert not _english_left(html, words), (name, _english_left(html, words))


EXPLORER_PAGES = ["/research/?as_of=2025-12-31", "/research/?as_of=2025-12-31&group_by=transfer_type&country=FR",
                  "/research/?as_of=2025-12-31&group_by=cohort", "/research/?as_of=1990-01-01",
                  "/research/?as_of=2025-99-99", "/research/cases?as_of=2025-12-31&group_by=transfer_type&group=rescue",
                  "/research/methods"]


@pytest.mark.parametrize("language", ["fr", "it", "es"])
def test_the_survival_explorer_has_no_english_left(client, login, make_user, make_federation, language):
    """The explorer's page (its figures' SVG text included), an empty and an invalid selection, the
    heat map, a group's case list, and the methods page (the report's own text)."""
    from support_research import load_oracle

    load_oracle(make_federation, baselines=True)
    researcher = make_user(Role.RESEARCHER)
    researcher.language = language
    db.session.commit()
    login(user=researcher)
    words = _english_words(language)
    for path in EXPLORER_PAGES:
        html = client.get(path).get_data(as_text=True)
        assert f'<html lang="{language}">' in html, path
        assert not _english_left(html, words), path + ": " + " ".join(sorted(_english_left(html, words)))


@pytest.mark.parametrize("language", ["fr", "it", "es"])
def test_the_case_form_and_its_errors_have_no_english_left(client, login, make_user, language):
    user = make_user(Role.STAFF)
    user.language = language
    db.session.commit()
    login(user=user)
    words = _english_words(language)
    for html in (client.get("/cases/new").get_data(as_text=True),
                 client.post("/cases/new", data={"ref": "", "name": ""}).get_data(as_text=True)):
        assert f'<html lang="{language}">' in html
        # The NACE suggestions are Eurostat's classification as published (reference data, in English).
        html = re.sub(r'<datalist id="nace-options">.*?</datalist>', "", html, flags=re.S)
        assert not _english_left(html, words), _english_left(html, words)


@pytest.mark.parametrize("language", ["fr", "it", "es"])
def test_the_staff_start_page_has_no_english_left(app, client, login, make_user, make_case, tmp_path, language):
    app.config["IMPORT_STAGING_DIR"] = str(tmp_path)  # no upload of another test's user
    user = make_user(Role.STAFF)
    user.language = language
    make_case(federation=user.federation, ref="R-1", name="Menuiserie Lenoir", last_verified_on=date(2016, 1, 1))
    db.session.commit()
    login(user=user)
    words = _english_words(language)
    html = client.get("/cases/start").get_data(as_text=True)
    assert f'<html lang="{language}">' in html
    assert not _english_left(html, words), _english_left(html, words)


@pytest.mark.parametrize("language", ["fr", "it", "es"])
def test_the_follow_up_pages_have_no_english_left(app, client, login, make_user, make_case, tmp_path, language):
    """The secretariat's start page (completeness, census years, last edition and what changed),
    a refused census date, the upload page and a rejected and a checked upload."""
    from tracker.models.report import ReportEdition

    app.config["IMPORT_STAGING_DIR"] = str(tmp_path)
    admin = make_user(Role.ADMIN)
    admin.language = language
    case = make_case(ref="R-1", name="Menuiserie Lenoir", last_verified_on=date(2016, 1, 1))
    db.session.add(ReportEdition(year=2024, scope="ALL", number=2, official=True, as_of=date(2025, 3, 31),
                                 app_version="1.0", fingerprint="f" * 64, figures={},
                                 changes=[{"kind": "input", "key": "transfers", "old": 10, "new": 12}]))
    db.session.commit()
    login(user=admin)
    words = _english_words(language)
    code = case.federation.code
    paths = ("/cases/follow-up", "/cases/follow-up/census.csv?census_date=1800-01-01", "/cases/follow-up/upload")
    pages = {path: client.get(path) for path in paths}
    header = "federation,ref,operating_on,exit_date,exit_reason\r\n"
    for name, row in (("rejected", f"{code},R-1,x,,"), ("checked", f"{code},R-1,2020-01-01,,")):
        upload = (BytesIO((header + row + "\r\n").encode()), "s.csv")
        response = client.post("/cases/follow-up/upload", data={"file": upload})
        pages[name] = client.get(response.headers["Location"])
    for name, response in pages.items():
        html = response.get_data(as_text=True)
        assert f'<html lang="{language}">' in html, name
        assert not _english_left(html, words), (name, _english_left(html, words))


def _language_user(make_user, role: Role, language: str, federation=None):
    user = make_user(role, federation=federation)
    user.language = language
    db.session.commit()
    return user


def _casework_pages(client, fed, cases) -> dict[str, str]:
    """Every casework page a staff member sees, with realistic content: filters (one not understood),
    a case with follow-ups, a withdrawn exit and its history, the forms with their errors, the import
    and its help, an import review with problems, the status check's upload and reviews, the
    follow-up completeness and a possible duplicate pair."""
    from support_import import case_row, csv_bytes, read_csv, token_of, upload

    lenoir, namesake, closed = cases
    pages: dict[str, object] = {}
    pages["follow-up recorded"] = client.post(f"/cases/{lenoir.id}/follow-up", follow_redirects=True, data={
        "followup-outcome": "operating", "followup-checked_on": "2025-06-30", "followup-source": "appel téléphonique",
        "followup-note": "Gérante jointe", "followup-version": str(lenoir.version)})
    db.session.refresh(lenoir)
    pages["follow-up refused"] = client.post(f"/cases/{lenoir.id}/follow-up", data={
        "followup-outcome": "operating", "followup-checked_on": "2099-01-01", "followup-version": str(lenoir.version)})
    pages["exit recorded"] = client.post(f"/cases/{closed.id}/follow-up", follow_redirects=True, data={
        "followup-outcome": "liquidation", "followup-checked_on": "2024-02-01", "followup-source": "BODACC",
        "followup-version": str(closed.version)})
    db.session.refresh(closed)
    pages["exit withdrawn"] = client.post(f"/cases/{closed.id}/withdraw-exit", follow_redirects=True, data={
        "withdraw-note": "Erreur de saisie", "withdraw-version": str(closed.version)})
    db.session.refresh(closed)
    client.post(f"/cases/{closed.id}/follow-up", data={
        "followup-outcome": "sold", "followup-checked_on": "2024-03-01", "followup-version": str(closed.version)})
    pages["edit refused"] = client.post(f"/cases/{lenoir.id}/edit", data={"name": "", "ref": lenoir.ref,
                                                                          "version": str(lenoir.version)})
    pages["new refused"] = client.post("/cases/new", data={"ref": "", "name": "", "transfer_date": "31/02/2020"})
    for path in ["/cases/", "/cases/?q=Menuiserie&status=open&transfer_type=rescue&year_from=2010&sort=name&dir=desc",
                 "/cases/?year_from=deux-mille&status=closed", "/cases/?q=Introuvable", "/cases/?page=9",
                 f"/cases/{lenoir.id}", f"/cases/{closed.id}", f"/cases/{lenoir.id}/edit", "/cases/new",
                 "/cases/import", "/cases/import/help", "/cases/follow-up", "/cases/follow-up/upload",
                 "/cases/duplicates", "/cases/start"]:
        pages[path] = client.get(path)

    rows = [case_row(ref="IMP-1", name="Boulangerie Coopérative"),
            case_row(ref="IMP-2", name="Imprimerie Solidaire", transfer_date="2099-01-01", exit_reason="faillite"),
            case_row(ref="IMP-3", name="Garage du Centre", employees="douze", country="ZZ")]
    token = token_of(upload(client, csv_bytes(rows), "dossiers.csv"))
    pages["import review with problems"] = client.get(f"/cases/import/{token}")
    token = token_of(upload(client, csv_bytes([case_row(ref="IMP-9")], columns=[*rows[0], "inconnue"]),
                            "colonnes.csv"))
    pages["import refused"] = client.get(f"/cases/import/{token}")

    sheet = read_csv(client.get("/cases/follow-up/status-check.csv").data)
    header = sheet[0]

    def filled(**cells: str) -> bytes:
        out = [header]
        for row in sheet[1:]:
            row = list(row)
            if row[header.index("ref")] == lenoir.ref:
                for name, value in cells.items():
                    row[header.index(name)] = value
            out.append(row)
        return ("\r\n".join(",".join(row) for row in out) + "\r\n").encode()

    token = token_of(upload(client, filled(operating_on="hier"), "suivi-faux.csv", url="/cases/follow-up/upload"))
    pages["status review with problems"] = client.get(f"/cases/follow-up/upload/{token}")
    token = token_of(upload(client, filled(operating_on="2025-11-30", source="visite"), "suivi.csv",
                            url="/cases/follow-up/upload"))
    pages["status review"] = client.get(f"/cases/follow-up/upload/{token}")
    pages["status recorded"] = client.post(f"/cases/follow-up/upload/{token}", data={}, follow_redirects=True)
    pages["case page after it all"] = client.get(f"/cases/{lenoir.id}")
    expected = {"follow-up refused": 200, "edit refused": 200, "new refused": 200, "/cases/?page=9": 200}
    html = {}
    for name, response in pages.items():
        assert response.status_code in (expected.get(name, 200), 400, 409) if name.endswith("refused") else \
            response.status_code == 200, (name, response.status_code)
        html[name] = response.get_data(as_text=True)
    return html


@pytest.mark.parametrize("language", ["fr", "it", "es"])
def test_the_casework_pages_have_no_english_left(app, client, login, make_user, make_federation, make_case,
                                                 tmp_path, language):
    app.config["IMPORT_STAGING_DIR"] = str(tmp_path)
    fed = make_federation(code="FR-CGSCOP", name="Confédération générale des Scop", country="FR")
    cases = (make_case(fed, ref="FR-001", name="Menuiserie Lenoir", national_id="552100554", employees=1234,
                       transfer_date=date(2015, 3, 1), last_verified_on=date(2016, 1, 1),
                       notes="Reprise par 9 salariés sur 14."),
             make_case(fed, ref="FR-002", name="Menuiserie Lenoir", national_id="552100554",
                       transfer_date=date(2025, 12, 31), registered_on=date(2025, 12, 31),
                       last_verified_on=date(2026, 1, 15)),
             make_case(fed, ref="FR-003", name="Fonderie Dupuis", transfer_date=date(2012, 5, 1),
                       last_verified_on=date(2023, 6, 1)))
    login(user=_language_user(make_user, Role.STAFF, language, federation=fed))
    words = _english_words(language)
    # A problem about a closed list or the header names the import schema's codes (sold, region).
    from tracker.services.casework.cases import CASE_FIELDS

    schema_codes = {member.value for enum in (ExitReason, TransferType) for member in enum} | set(CASE_FIELDS)
    pages = _casework_pages(client, fed, cases)
    for name, html in pages.items():
        assert f'<html lang="{language}">' in html, name
        if "import" in name or "status" in name:
            html = re.sub(r"\b(" + "|".join(schema_codes) + r")\b", " ", html)
        # The NACE suggestions and labels are Eurostat's classification as published (reference data, in English).
        html = re.sub(r'<datalist id="nace-options">.*?</datalist>', "", html, flags=re.S)
        html = re.sub(r"\b\w+_\w+\b", " ", html)  # the import schema's column names are codes (exit_date)
        assert not _english_left(html, words), (name, sorted(_english_left(html, words)))
    # Dates are written the way the language writes them, on every page that shows one.
    assert "31/12/2025" in pages["/cases/"] and "2025-12-31" not in pages["/cases/"]
    if language == "fr":  # and numbers: 1 234 employees (a narrow no-break space groups the thousands)
        assert "1\u202f234" in pages[f"/cases/{cases[0].id}"]


@pytest.mark.parametrize("language", ["fr", "it", "es"])
def test_the_reports_pages_have_no_english_left(client, login, make_user, make_federation, make_case, language):
    """The reports page with a kept edition and one being generated, and a job's page."""
    from sqlalchemy import select

    from tracker.models import ReportEdition, ReportJob
    from tracker.reports import jobs
    from tracker.services.analytics import queries as analytics
    from tracker.services.analytics.baselines import import_baselines, shipped_baselines

    analytics.clear_cache()
    assert not import_baselines(None, shipped_baselines()).problems
    fed = make_federation(code="FR-CGSCOP", name="Confédération générale des Scop", country="FR")
    for i in range(12):
        make_case(fed, transfer_date=date(2014, 1 + i, 1), registered_on=date(2014, 1 + i, 1),
                  last_verified_on=date(2025, 9, 30))
    user = _language_user(make_user, Role.ADMIN, language)
    login(user=user)
    generated = client.post("/reports/annual", data={"year": "2025", "format": "html", "language": language},
                            follow_redirects=True)
    edition = db.session.scalars(select(ReportEdition)).one()
    job = ReportJob(requested_by_id=user.id, year=2025, format="pdf", language=language, status=jobs.RUNNING,
                    stage="Survival by transfer type")
    db.session.add(job)
    db.session.commit()
    pages = {"generated": generated, "index": client.get("/reports/"), "job": client.get(f"/reports/jobs/{job.id}")}
    assert f"edition-{edition.id}" in pages["index"].get_data(as_text=True)
    words = _english_words(language)
    for name, response in pages.items():
        assert response.status_code == 200, name
        html = response.get_data(as_text=True)
        assert f'lang="{language}"' in html, name
        assert not _english_left(html, words), (name, " ".join(sorted(_english_left(html, words))))
