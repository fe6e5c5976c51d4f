"""A short attack pass against the app under gunicorn on loopback: what every route answers to an
anonymous visitor, to a form posted without its CSRF token, to ids and page numbers no column
holds, and to upload bombs.

    python -m bench.generate --cases 100000 --database-url sqlite:////tmp/load.sqlite3
    python -m bench.attack --database-url sqlite:////tmp/load.sqlite3 [--production]

Every route of the app's URL map is tried (its arguments filled with an existing case, user,
federation, a made-up token, the first choice of an `any()`); the report gives, per pass, the
inputs tried and the faults (an answer other than the expected one, or any 5xx), and the time of
the slowest answer. Traffic goes to 127.0.0.1 only; the server is stopped at the end.

Expected answers: anonymous, a redirect to the login page (an API route: 401), or a 400 for a
POST without its CSRF token, public routes (login, health, static files, logout, language)
anything but a 5xx; logged in, a POST without the token is a 400; an id beyond the id column or
a page whose offset overflows is a 404; a body over MAX_CONTENT_LENGTH is a 413, and a workbook
bomb is refused with its message (200 on the upload page, or the review), each within seconds.
"""

from __future__ import annotations

import argparse
import io
import os
import re
import time
import urllib.request
import zipfile
from collections import defaultdict
from typing import Any

from bench.load import TOKEN, Client, add_server_options, server_env, start_server

PASSWORD = "attack-test-password"
PUBLIC = {"static", "bootstrap.static", "auth.login", "auth.healthz", "auth.logout", "auth.switch_language"}
HUGE_IDS = [2**31, 2**63 - 1, 2**63, 2**64, 10**30]
HUGE_PAGES = ["99999999999999999999", str(2**63), "+99999999999999999999", "1_000_000_000_000_000_000",
              "٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩٩", "10000001"]
PAGED = ["/cases/", "/cases/duplicates", "/cases/follow-up", "/research/", "/research/cases"]


def prepare(database_url: str) -> dict[str, Any]:
    """Users for the pass, and sample values for every converter of the URL map."""
    os.environ["DATABASE_URL"] = database_url
    from sqlalchemy import select

    from tracker import create_app
    from tracker.extensions import db
    from tracker.models import Case, Federation, Role, User
    from tracker.services.accounts import users

    app = create_app()
    with app.app_context():
        federation = db.session.scalars(select(Federation).order_by(Federation.id)).first()
        for email, role, fed in (("attack-admin@example.org", Role.ADMIN, None),
                                 ("attack-staff@example.org", Role.STAFF, federation)):
            if users.find_by_email(email) is None:
                users.create_user(None, email, PASSWORD, role, fed)
        db.session.commit()
        case_id = db.session.scalar(select(Case.id).where(Case.federation_id == federation.id).limit(1))
        user_id = db.session.scalar(select(User.id).where(User.email == "attack-staff@example.org"))
        samples = {"case_id": case_id, "user_id": user_id, "federation_id": federation.id, "token_id": 1,
                   "job_id": 1, "edition_id": 1}
        rules = []
        for rule in app.url_map.iter_rules():
            url, ints = rule.rule, []
            for name, converter in rule._converters.items():  # noqa: SLF001
                kind = type(converter).__name__
                if kind.endswith("IntegerConverter") or kind.endswith("IntConverter"):
                    ints.append(name)
                    value: Any = samples.get(name, 1)
                elif kind == "AnyConverter":
                    value = sorted(converter.items)[0] if hasattr(converter, "items") else re.search(
                        r"\(([^,)]+)", converter.regex).group(1)
                else:
                    value = "A" * 32 if "token" in name else "missing.css"
                url = re.sub(rf"<[^>]*\b{name}>", str(value), url)
            methods = sorted(m for m in rule.methods if m in ("GET", "POST"))
            rules.append({"endpoint": rule.endpoint, "url": url, "methods": methods, "ints": ints,
                          "template": rule.rule})
    return {"rules": rules, "federation_id": federation.id}


class Tally:
    def __init__(self) -> None:
        self.tried: dict[str, int] = defaultdict(int)
        self.faults: dict[str, list[str]] = defaultdict(list)
        self.slowest: dict[str, float] = defaultdict(float)

    def check(self, kind: str, ok: bool, what: str, seconds: float) -> None:
        self.tried[kind] += 1
        self.slowest[kind] = max(self.slowest[kind], seconds)
        if not ok:
            self.faults[kind].append(what)


def request(client: Client, method: str, path: str, data: dict[str, str] | bytes | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, str, float]:
    """(status, Location, seconds) without following redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any, **kwargs: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect, *[h for h in client.opener.handlers
                                                       if isinstance(h, urllib.request.HTTPCookieProcessor)])
    body = data if isinstance(data, bytes) or data is None else urllib.parse.urlencode(data).encode()
    if method == "POST" and body is None:
        body = b""
    started = time.perf_counter()
    req = urllib.request.Request(client.base + path, data=body, method=method, headers=headers or {})
    try:
        with opener.open(req, timeout=120) as response:
            response.read()
            return response.status, response.headers.get("Location", ""), time.perf_counter() - started
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "") or "", time.perf_counter() - started
    except (ConnectionError, OSError) as exc:  # the server cut the connection (a body refused while sent)
        return 413 if "Broken pipe" in str(exc) or "reset" in str(exc) else 599, "", time.perf_counter() - started


def log_in(base: str, email: str) -> Client:
    """A client logged in as `email` (checked: a failed login would turn every later answer into
    a redirect to the login page)."""
    client = Client(base)
    _, page = client.get("/login")
    match = TOKEN.search(page)
    client.post("/login", {"email": email, "password": PASSWORD, "csrf_token": match.group(1) if match else ""})
    status, location, _seconds = request(client, "GET", "/cases/")
    if status != 200:
        raise SystemExit(f"could not log in as {email}: /cases/ answers {status} {location}")
    return client


def token(client: Client, path: str) -> str:
    _, page = client.get(path)
    match = TOKEN.search(page)
    return match.group(1) if match else ""


def workbook(sheet_data: bytes, before: bytes = b"") -> bytes:
    """The smallest XLSX package openpyxl opens, its first sheet written as raw XML."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    package = "http://schemas.openxmlformats.org/package/2006"
    parts = {
        "[Content_Types].xml": f'<Types xmlns="{package}/content-types"><Default Extension="rels" '
        'ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" '
        'ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/'
        'sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '</Types>',
        "_rels/.rels": f'<Relationships xmlns="{package}/relationships"><Relationship Id="rId1" '
        f'Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="cases" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": f'<Relationships xmlns="{package}/relationships"><Relationship Id="rId1" '
        f'Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
    }
    sheet = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{main}">'.encode() + before
             + b"<sheetData>" + sheet_data + b"</sheetData></worksheet>")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
    return buffer.getvalue()


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, dict[str, str]]:
    boundary = "----attack-boundary-7MA4YWxkTrZu0gW"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
                 "Content-Type: application/octet-stream\r\n\r\n".encode() + content + b"\r\n")
    return b"".join(parts) + f"--{boundary}--\r\n".encode(), {
        "Content-Type": f"multipart/form-data; boundary={boundary}"}


def bombs() -> list[tuple[str, str, bytes]]:
    header = "".join(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{name}</t></is></c>' for i, name in enumerate(
        ["ref", "name", "country", "transfer_date", "transfer_type", "last_verified_on"]))
    rows = b"".join(b'<row r="%d"><c r="XFD%d"><v>1</v></c></row>' % (i, i) for i in range(2, 200_002))
    return [
        ("200,000 rows with a value in column XFD", "xfd.xlsx", workbook(f'<row r="1">{header}</row>'.encode()
                                                                         + rows)),
        ("a sheet declaring A1:XFD1048576", "dimension.xlsx", workbook(f'<row r="1">{header}</row>'.encode(),
                                                                       before=b'<dimension ref="A1:XFD1048576"/>')),
        ("200 MB of blank cells inflated from a small zip", "inflate.xlsx",
         workbook(f'<row r="1">{header}</row>'.encode() + b'<row r="2">' + b" " * (200 * 2**20) + b"</row>")),
        ("a zip that is not a workbook", "cases.xlsx", b"PK\x03\x04" + os.urandom(4096)),
        ("25 MB CSV (over MAX_CONTENT_LENGTH)", "big.csv", b"ref,name\r\n" + b"R,N\r\n" * (25 * 2**20 // 5)),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) * 2 + 1)
    parser.add_argument("--port", type=int, default=8766)
    add_server_options(parser)
    args = parser.parse_args(argv)
    world = prepare(args.database_url)
    env = server_env(args.database_url, args.production, args.ratelimit_storage, "attack")
    # A longer worker timeout than gunicorn's 30 s: a bomb that was not refused should be seen as slow, not cut.
    server, base = start_server(env, args.workers, args.port, "warning", options=("--timeout", "120"))
    tally = Tally()
    try:
        run_passes(base, world, tally)
    finally:
        server.terminate()
        server.wait(30)
    print(f"attack pass, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
          f"{args.database_url.split('://')[0]}{', production' if args.production else ''}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'pass':<44}{'inputs':>8}{'faults':>8}{'slowest':>10}")
    for kind in tally.tried:
        print(f"{kind:<44}{tally.tried[kind]:>8}{len(tally.faults[kind]):>8}{tally.slowest[kind]:>9.2f}s")
    total, faults = sum(tally.tried.values()), sum(len(v) for v in tally.faults.values())
    print(f"faults survived: {total - faults} of {total} inputs tried")
    for kind, found in tally.faults.items():
        for what in found[:20]:
            print(f"  FAULT {kind}: {what}")


def run_passes(base: str, world: dict[str, Any], tally: Tally) -> None:
    rules = [r for r in world["rules"] if r["endpoint"] not in ("static", "bootstrap.static")]
    anonymous_pass(Client(base), rules, tally)
    admin = log_in(base, "attack-admin@example.org")
    csrf_pass(admin, rules, tally)
    hostile_pass(admin, rules, tally)
    bomb_pass(base, log_in(base, "attack-staff@example.org"), tally)


def anonymous_pass(anonymous: Client, rules: list[dict[str, Any]], tally: Tally) -> None:
    for rule in rules:
        for method in rule["methods"]:
            status, location, seconds = request(anonymous, method, rule["url"])
            if rule["endpoint"] in PUBLIC:
                ok = status < 500
            elif rule["url"].startswith("/api/"):
                ok = status == 401
            else:
                ok = (status in (302, 303) and "/login" in location) or (method == "POST" and status == 400)
            tally.check("anonymous: every route", ok, f"{method} {rule['url']} -> {status} {location}", seconds)


def csrf_pass(admin: Client, rules: list[dict[str, Any]], tally: Tally) -> None:
    for rule in rules:
        if "POST" in rule["methods"] and rule["endpoint"] != "auth.login":
            status, _location, seconds = request(admin, "POST", rule["url"], {"name": "x", "version": "1"})
            tally.check("logged in: POST without the CSRF token", status == 400, f"POST {rule['url']} -> {status}",
                        seconds)


def hostile_pass(admin: Client, rules: list[dict[str, Any]], tally: Tally) -> None:
    csrf = token(admin, "/cases/new")
    for rule in (r for r in rules if r["ints"]):
        for number in HUGE_IDS:
            url = rule["template"]
            for name in rule["ints"]:
                url = re.sub(rf"<int:{name}>", str(number), url)
            url = re.sub(r"<any\(([^,)]+)[^>]*>", r"\1", url)
            url = re.sub(r"<[^>]+>", "A" * 32, url)
            for method in rule["methods"]:
                status, _location, seconds = request(admin, method, url,
                                                     {"csrf_token": csrf} if method == "POST" else None)
                tally.check("hostile ids in URLs", status == 404, f"{method} {url} -> {status}", seconds)
    for path in PAGED:
        for page in HUGE_PAGES:
            status, _location, seconds = request(admin, "GET", f"{path}?page={urllib.parse.quote(page)}")
            tally.check("hostile page numbers", status == 404, f"GET {path}?page={page} -> {status}", seconds)


def bomb_pass(base: str, staff: Client, tally: Tally) -> None:
    for what, filename, content in bombs():
        body, headers = multipart({"csrf_token": token(staff, "/cases/import")}, filename, content)
        status, location, seconds = request(staff, "POST", "/cases/import", body, headers)
        passed = False
        if status in (302, 303) and location and "/login" not in location:  # checked: the review must refuse it
            status, page = staff.get(location.replace(base, ""))
            passed = "The file passes every check" in page and "declaring" not in what
        refused = status in (200, 413) and not passed and seconds < 60
        tally.check("upload bombs (refused, within 60 s)", refused, f"{what} -> {status} in {seconds:.1f} s",
                    seconds)
        print(f"  bomb: {what}: {len(content) / 2**20:.1f} MB sent, answer {status} in {seconds:.2f} s")


if __name__ == "__main__":
    main()
