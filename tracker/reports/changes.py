"""What changed since the previous edition: the figures kept with an edition (as published, after
suppression) and the list of what moved, figure by figure (old → new).

Changes are kept as plain JSON items and written in words when an edition is rendered, so an
edition in French lists them in French. Rows are matched by their key (the group's code, not its
label), so editions in different languages compare.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import ngettext

from tracker.reports.content import CONFIDENTIAL, AnnualReport, Estimate
from tracker.reports.render.formatting import long_date, pct, ratio, thousands

MAX_LISTED = 40  # figures listed one by one; the others are counted by table


def _json_cell(value: Any) -> Any:
    if value is CONFIDENTIAL:
        return "c"
    if isinstance(value, Estimate):
        return {"value": value.value, "lower": value.lower, "upper": value.upper}
    return value.item() if hasattr(value, "item") else value  # numpy scalars


def figures_json(report: AnnualReport) -> dict[str, Any]:
    """The published figures (after suppression) and the inputs summary, as JSON."""
    return {
        "year": report.year,
        "as_of": report.as_of.isoformat(),
        "scope": report.scope,
        "inputs": report.inputs,
        "tables": {t.slug: {"number": t.number, "title": t.title, "columns": [c.key for c in t.columns],
                            "labels": [c.label for c in t.columns], "kinds": [c.kind for c in t.columns],
                            "keys": list(t.row_keys), "row_labels": [str(r[0]) for r in t.rows],
                            "rows": [[_json_cell(v) for v in row] for row in t.rows]} for t in report.tables},
    }


def describe_changes(before_figures: dict[str, Any], before_version: str, report: AnnualReport) -> list[dict[str, Any]]:
    """What changed since the edition whose figures are `before_figures`, as JSON items: inputs
    first, then every published figure that moved."""
    before, now = before_figures.get("inputs", {}), report.inputs
    changes: list[dict[str, Any]] = []
    same_date = before.get("as_of") == now["as_of"]
    if not same_date:
        changes.append({"kind": "as_of", "old": before.get("as_of"), "new": now["as_of"]})
    late = now["exits"] - before.get("exits", now["exits"]) if same_date else 0
    if late > 0:
        changes.append({"kind": "late_exits", "count": late})
    for key in ("transfers", "analysed", "left_out", "verified_recently"):
        if before.get(key) is not None and before[key] != now[key]:
            changes.append({"kind": "input", "key": key, "old": before[key], "new": now[key]})
    if before.get("baselines_fingerprint") != now["baselines_fingerprint"]:
        changes.append({"kind": "baselines"})
    if before_version != report.app_version:
        changes.append({"kind": "version", "old": before_version, "new": report.app_version})
    moved = list(_moved_figures(before_figures.get("tables", {}), figures_json(report)["tables"]))
    changes += moved[:MAX_LISTED]
    rest: dict[str, int] = {}
    for item in moved[MAX_LISTED:]:
        rest[item["table"]] = rest.get(item["table"], 0) + 1
    if rest:
        changes.append({"kind": "more_figures", "count": len(moved) - MAX_LISTED, "tables": sorted(rest)})
    if not changes:
        changes.append({"kind": "nothing"})
    return changes


def _moved_figures(before: dict[str, Any], now: dict[str, Any]) -> Any:
    for slug, table in now.items():
        old = before.get(slug)
        if old is None:
            continue
        old_keys = old.get("keys", old.get("row_labels", []))
        old_rows = dict(zip(old_keys, old["rows"], strict=False))
        old_columns = {c: i for i, c in enumerate(old["columns"])}
        for key, label, row in zip(table["keys"], table["row_labels"], table["rows"], strict=True):
            previous = old_rows.get(key)
            if previous is None:
                continue
            for i, column in enumerate(table["columns"]):
                kind = table["kinds"][i]
                if i == 0 or kind in ("text", "url") or column not in old_columns:
                    continue
                a, b = previous[old_columns[column]], row[i]
                if _value(a, kind) != _value(b, kind):
                    yield {"kind": "figure", "table": table["number"], "slug": slug, "row": label,
                           "column": table["labels"][i], "type": kind, "old": a, "new": b}


def _value(cell: Any, kind: str) -> Any:
    """The figure at the precision it is printed (one decimal of a percentage, two of a ratio):
    a change the reader cannot see is not listed."""
    value = cell["value"] if isinstance(cell, dict) else cell
    if not isinstance(value, float):
        return value
    if kind in ("pct", "est_pct"):
        return round(100 * value, 1)
    if kind in ("ratio", "est_ratio"):
        return round(value, 2)
    return round(value)


# --- in words ---------------------------------------------------------------------------------

def figure_words(cell: Any, kind: str) -> str:
    if cell == "c":
        return _("confidential")
    if cell is None:
        return _("not available")
    value = cell["value"] if isinstance(cell, dict) else cell
    if kind in ("pct", "est_pct"):
        return f"{pct(value)} %"
    if kind in ("ratio", "est_ratio"):
        return ratio(value)
    if kind == "count" and isinstance(value, int | float):
        return thousands(int(value))
    return str(value)


def _prose_date(value: Any) -> str:
    """An ISO date kept in the edition's JSON, as the report's language writes it in a sentence."""
    try:
        return long_date(date.fromisoformat(str(value)[:10]))
    except ValueError:
        return str(value)


def change_text(item: Any, previous_number: int | None) -> str:
    """One change in words, in the language being rendered (older editions kept plain strings)."""
    if isinstance(item, str):
        return item
    kind = item.get("kind")
    if kind == "nothing":
        return _("No figure changed since edition %(n)s.", n=previous_number)
    if kind == "as_of":
        return _("Reference date moved from %(old)s to %(new)s.", old=_prose_date(item["old"]),
                 new=_prose_date(item["new"]))
    if kind == "late_exits":
        return ngettext("%(num)s exit dated on or before the reference date was recorded after the previous "
                        "edition (a late exit).",
                        "%(num)s exits dated on or before the reference date were recorded after the previous "
                        "edition (late exits).", item["count"])
    if kind == "input":
        words = {"transfers": _("Transfers recorded up to the reference date"),
                 "analysed": _("Enterprises in the survival analysis"), "left_out": _("Cases left out"),
                 "verified_recently": _("Open cases verified in the last 12 months")}[item["key"]]
        return _("%(what)s: %(old)s → %(new)s.", what=words, old=thousands(item["old"]), new=thousands(item["new"]))
    if kind == "baselines":
        return _("The national baselines (figures or sources) were updated.")
    if kind == "version":
        return _("Application version %(old)s → %(new)s.", old=item["old"], new=item["new"])
    if kind == "figure":
        return _("Table %(table)s, %(row)s, %(column)s: %(old)s → %(new)s.", table=item["table"], row=item["row"],
                 column=item["column"], old=figure_words(item["old"], item["type"]),
                 new=figure_words(item["new"], item["type"]))
    if kind == "more_figures":
        return ngettext("and %(num)s other figure (tables %(tables)s).",
                        "and %(num)s other figures (tables %(tables)s).", item["count"],
                        tables=", ".join(item["tables"]))
    return str(item)


__all__ = ["change_text", "describe_changes", "figures_json", "long_date"]
