"""Where a `next` link may send the browser: only a path on this site."""

from __future__ import annotations

import pytest

from tracker.web import safe_next


@pytest.mark.parametrize("target", ["/cases/", "/cases/12?tab=history", "/research/?group_by=country#figure",
                                    "/%0a"])  # percent-encoded: still a path here
def test_a_path_on_this_site_is_followed(target: str) -> None:
    assert safe_next(target, "/") == target


@pytest.mark.parametrize("target", [
    None, "", "https://evil.example/", "//evil.example/", "/\\evil.example", "\\\\evil.example",
    "javascript:alert(1)", "/ok\r\nLocation: https://evil.example", "cases/", "http:/evil.example",
    "/\tevil", "/x\x7f",
])
def test_anything_else_falls_back(target: str | None) -> None:
    assert safe_next(target, "/fallback") == "/fallback"
