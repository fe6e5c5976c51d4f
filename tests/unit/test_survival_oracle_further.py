"""Golden values, second round: median CI, RMST, annual hazard, two-field groups, pairwise log-rank,
the Cox model and the competing-risk intervals reproduce R (tests/data/oracle/further), engine only.

Each check of the manifest gives `tracker survival` arguments; here they are turned into the
engine's options directly (the same comparisons through the CLI and the API are in
tests/integration/test_cli_api_oracle_further.py).
"""

from __future__ import annotations

import csv
import json
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from tracker.survival import (
    AnalysisOptions,
    CaseArrays,
    CoxCovariate,
    analyse,
    analyse_competing,
    competing_to_dict,
    cox_to_dict,
    fit_cox,
    report_to_dict,
    size_class_labels,
)

FURTHER = Path(__file__).resolve().parents[1] / "data" / "oracle" / "further"
MANIFEST = json.loads((FURTHER / "manifest.json").read_text(encoding="utf-8"))
CHECKS = [check for suite in MANIFEST["suites"] for check in suite["checks"]]


def rows() -> list[dict[str, str]]:
    with (FURTHER / "cases.csv").open(newline="", encoding="utf-8-sig") as f:
        return list(csv.DictReader(f))


def field_labels(data: list[dict[str, str]], name: str) -> np.ndarray:
    if name == "size_class":
        return size_class_labels([row["employees"] or None for row in data])
    return np.array([row[name] or None for row in data], dtype=object)


def parse_args(args: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"where": []}
    i = 0
    while i < len(args):
        name = args[i].lstrip("-").replace("-", "_")
        if name in ("no_delayed_entry", "competing"):
            out[name] = True
            i += 1
        else:
            out.setdefault(name, args[i + 1]) if name != "where" else out["where"].append(args[i + 1])
            i += 2
    return out


def run(check: dict[str, Any]) -> dict[str, Any]:
    if check["kind"] == "competing":
        q = check["query"]
        args = {"as_of": q["as_of"], "horizons": q["horizons"], "group_by": q.get("group_by"),
                "no_delayed_entry": q.get("delayed_entry") == "false", "competing": True, "where": []}
    else:
        args = parse_args(check["args"])
    data = rows()
    for item in args["where"]:
        name, _, values = item.partition("=")
        data = [row for row in data if row[name] in values.split(",")]
    cases = CaseArrays(**{name: [row[name] or None for row in data] for name in
                          ("transfer_date", "registered_on", "last_verified_on", "exit_date", "exit_reason")})
    group_by = args.get("group_by")
    fields = group_by.split(",") if group_by else []
    groups = None
    if fields:
        arrays = tuple(field_labels(data, name) for name in fields)
        groups = arrays if len(arrays) > 1 else arrays[0]
    options = AnalysisOptions(
        as_of=date.fromisoformat(args["as_of"]), endpoint=args.get("endpoint", "enterprise"),
        delayed_entry=not args.get("no_delayed_entry"), group_by=group_by,
        horizons=tuple(int(h) for h in args.get("horizons", "1,2,3,4,5").split(",")),
        rmst_tau=float(args.get("rmst_tau", 5)),
    )
    if args.get("competing"):
        return {"as_of": args["as_of"], "group_by": group_by,
                "groups": competing_to_dict(analyse_competing(cases, groups, options))}
    out = report_to_dict(analyse(cases, groups, options))
    out["horizons_years"] = list(options.horizons)  # the service adds it
    if args.get("model") == "cox":
        covariates = []
        for name in args["covariates"].split(","):
            if name == "log_employees":
                employees = np.array([float(row["employees"]) if row["employees"] else np.nan for row in data])
                covariates.append(CoxCovariate(name, np.log1p(employees), categorical=False))
            else:
                covariates.append(CoxCovariate(name, field_labels(data, name), True, ("unknown",)))
        out["cox"] = cox_to_dict(fit_cox(cases, options, covariates))
    return out


def assert_matches(expected: object, got: object, tol: float, path: str = "$") -> None:
    if isinstance(expected, dict):
        assert isinstance(got, dict), f"{path}: {got!r}"
        for key, value in expected.items():
            assert key in got, f"{path}.{key} missing"
            assert_matches(value, got[key], tol, f"{path}.{key}")
    elif isinstance(expected, list):
        assert isinstance(got, list) and len(got) == len(expected), path
        for i, (e, g) in enumerate(zip(expected, got, strict=True)):
            assert_matches(e, g, tol, f"{path}[{i}]")
    elif isinstance(expected, float):
        assert isinstance(got, int | float) and not isinstance(got, bool), f"{path}: {got!r}"
        assert abs(expected - got) <= tol * max(1.0, abs(expected)), f"{path}: {expected!r} != {got!r}"
    else:
        assert expected == got, f"{path}: {expected!r} != {got!r}"


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: f"{c['kind']}:{c['expected']}:{'+'.join(c['features'])}")
def test_engine_reproduces_r(check: dict[str, Any]) -> None:
    expected = json.loads((FURTHER / check["expected"]).read_text(encoding="utf-8"))
    got = json.loads(json.dumps(run(check)))
    assert_matches(expected, got, check["tol"])


def test_every_golden_file_is_checked() -> None:
    files = {p.name for p in FURTHER.glob("expected_*.json")}
    assert files == {c["expected"] for c in CHECKS}
    assert len(files) == 16
