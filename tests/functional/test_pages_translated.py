"""The pages translated so far, rendered in French, Italian and Spanish, show no English word of the
interface. A word counts as English when it occurs in an English message of the catalogue and in
none of that language's translations; proper names are allowed.

Pages covered: login, the account pages (settings, password, API tokens) for every role, the
error pages, every admin page (with its flashes, a refused form and audit entries), and the
follow-up pages (completeness, census, status upload and review). Not yet covered (their
templates are not translated yet): cases, import, duplicates, survival explorer, reports."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser
from io import BytesIO
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tracker.extensions import db
from tracker.models import Role

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
