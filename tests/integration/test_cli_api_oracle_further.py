"""The R reference of the further estimates through the CLI and the API, as check_oracle3.py runs
them: every check of tests/data/oracle/further/manifest.json on the imported registry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.unit.test_survival_oracle_further import CHECKS, FURTHER, assert_matches
from tracker.extensions import db
from tracker.models import Role
from tracker.services.analytics import queries as analytics
from tracker.services.spreadsheets.imports import import_cases


@pytest.fixture
def registry(app, make_federation):
    analytics.clear_cache()
    federation = make_federation(code="ORACLE")
    data = (FURTHER / "cases.csv").read_bytes()
    assert not import_cases(None, federation, data, "cases.csv", dry_run=False).problems
    db.session.commit()
    return federation


def test_every_check_of_the_manifest_passes_through_cli_and_api(registry, runner, client, login) -> None:
    login(Role.RESEARCHER)
    failures: list[str] = []
    for check in CHECKS:
        expected = json.loads((FURTHER / check["expected"]).read_text(encoding="utf-8"))
        if check["kind"] == "competing":
            response = client.get("/api/v1/survival/competing", query_string=check["query"])
            assert response.status_code == 200, response.get_data(as_text=True)
            got: Any = response.get_json()
        else:
            result = runner.invoke(args=["survival", "--format", "json", *check["args"]])
            assert result.exit_code == 0, (check["args"], result.output)
            got = json.loads(result.output)
        try:
            assert_matches(expected, got, check["tol"])
        except AssertionError as exc:
            failures.append(f"{check['expected']} ({check['kind']}): {exc}")
    assert not failures, "\n".join(failures)
