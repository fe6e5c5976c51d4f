"""Login throttling holds across gunicorn workers (CI step; see .ci/run).

Against a running production-mode server whose limiter stores its counts in Redis: wrong
passwords for one account, sent all at once (a sync worker busy hashing one cannot take the
next, so the workers share them out), must together reach the per-account-and-address limit,
after which even the right password is refused with 429; with per-process counts no worker
would have seen enough failures and the right password would be let in.
Another account from the same address still logs in (the per-address limit is looser).

usage: check_login_throttle.py BASE_URL VICTIM_EMAIL OTHER_EMAIL PASSWORD [LIMIT]
"""

from __future__ import annotations

import http.client
import re
import sys
import urllib.parse
from concurrent.futures import ThreadPoolExecutor


def attempt(base: str, email: str, password: str) -> int:
    """One login as a browser makes it: GET the form (session cookie, CSRF token), then POST."""
    url = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        conn.request("GET", "/login")
        page = conn.getresponse()
        body = page.read().decode()
        cookie = page.getheader("Set-Cookie", "").split(";")[0]  # Secure cookie: sent by hand over http
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body).group(1)
        form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token})
        conn.request("POST", "/login", body=form, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie})
        answer = conn.getresponse()
        answer.read()
        return answer.status
    finally:
        conn.close()


def main() -> int:
    base, victim, other, password = sys.argv[1:5]
    limit = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    with ThreadPoolExecutor(limit) as pool:
        wrong = list(pool.map(lambda _: attempt(base, victim, "not the password at all"), range(limit)))
    right = attempt(base, victim, password)
    other_status = attempt(base, other, password)
    print(f"{limit} wrong passwords: {wrong}; then the right one: {right}; another account: {other_status}")
    if wrong != [200] * limit:
        print("FAIL: a wrong password was not answered with the login form", file=sys.stderr)
        return 1
    if right != 429:
        print("FAIL: the workers did not share the failure count (right password let in)", file=sys.stderr)
        return 1
    if other_status != 302:
        print("FAIL: another account from the same address could not log in", file=sys.stderr)
        return 1
    print("login throttling is shared by the workers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
