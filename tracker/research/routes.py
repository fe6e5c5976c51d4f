"""Views of the research blueprint: the survival explorer, its downloads and the case list of a group.

Every view reads the same query string (ExploreSurvivalForm, plus `where=FIELD=VALUE` items as in
`GET /api/v1/survival`), turns it into a SurvivalQuery (its one parser), calls one service of
`tracker.services.analytics.explorer` (computation, drawing and cache) or `explorer_tables` (the
downloads) for the current user, and renders. A staff user's figures, downloads and case lists
only ever hold their own federation's cases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, current_app, render_template, request, url_for
from flask_login import login_required

from tracker import vocabulary
from tracker.models import User
from tracker.research import bp
from tracker.research.forms import ExploreSurvivalForm
from tracker.services.analytics import explorer as service
from tracker.services.analytics import explorer_tables as tables
from tracker.services.analytics.survival_query import InvalidParameter, SurvivalQuery
from tracker.services.permissions import require
from tracker.web import current_actor

#: Parameters of the pages themselves, not of the analysis.
PAGE_PARAMETERS = ("page", "group")

_user = current_actor


# --- reading the query string -------------------------------------------------------------------

def _read(user: User) -> tuple[ExploreSurvivalForm, SurvivalQuery | None, list[str]]:
    """The form filled from the query string, the query it asks for (None when invalid) and the
    problems, each naming its field."""
    form = ExploreSurvivalForm(formdata=request.args, federations=service.federation_choices(user),
                               present_countries=service.present_countries(user))
    if not form.validate():
        problems = [f"{form[name].label.text} ({name}): {message}"
                    for name, messages in form.errors.items() for message in messages]
        return form, None, problems
    try:
        query = SurvivalQuery.from_params(request.args, allow=PAGE_PARAMETERS)
    except InvalidParameter as exc:
        form.set_error(exc.name, exc.message)
        return form, None, [f"{exc.name}: {exc.message}"]
    return form, query, []


def _query_or_400(user: User) -> SurvivalQuery:
    _form, query, problems = _read(user)
    if query is None:
        abort(400, description="Invalid parameter — " + "; ".join(problems))
    return query


def _view_args() -> dict[str, list[str]]:
    """The query string as given (repeated keys kept), without paging and group, for links."""
    return {k: v for k, v in request.args.to_dict(flat=False).items() if k not in PAGE_PARAMETERS}


def _linker(args: Mapping[str, list[str]]) -> Callable[..., str]:
    """`link(endpoint, path_args=None, **extra)`: a URL to `endpoint` carrying the page's query string
    (url_for cannot take it: the `endpoint` parameter would clash with url_for's own)."""

    def link(endpoint: str, path_args: Mapping[str, Any] | None = None, **extra: Any) -> str:
        query = {**args, **{k: v for k, v in extra.items() if v is not None}}
        return url_for(endpoint, **(path_args or {})) + ("?" + urlencode(query, doseq=True) if query else "")

    return link


# --- the page -----------------------------------------------------------------------------------

@bp.get("/")
@login_required
def index() -> Any:
    user = _user()
    require(user, "survival.view")
    form, query, problems = _read(user)
    args = _view_args()
    if query is None:
        return render_template("research/index.html", form=form, problems=problems, explorer=None,
                               link=_linker(args)), 400
    explorer = service.build_explorer(user, query)
    return render_template(
        "research/index.html", form=form, problems=[], explorer=explorer, link=_linker(args), query=query,
        api_url=url_for("api.survival") + "?" + urlencode(query.to_params(), doseq=True),
        filters=service.filters_in_words(user, query),
        group_label=vocabulary.GROUP_FIELDS.get(query.group_by or "", ""),
        exclusion_labels=vocabulary.EXCLUSION_REASONS,
        threshold=current_app.config.get("SURVIVAL_UNSTABLE_AT_RISK", 10))


# --- downloads ----------------------------------------------------------------------------------

def _download(body: bytes | str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _requested_explorer(need_figure: bool = False) -> tuple[SurvivalQuery, service.Explorer]:
    """For the downloads: the current user's query from the URL (400 if invalid) and its explorer
    (404 when a figure is needed and there is nothing to draw)."""
    user = _user()
    require(user, "survival.view")
    query = _query_or_400(user)
    explorer = service.build_explorer(user, query)
    if need_figure and explorer.km is None:
        abort(404, description=explorer.message or "Nothing to draw for this selection.")
    return query, explorer


@bp.get("/figure/<any(km, competing):kind>.<any(svg, png):fmt>")
@login_required
def figure(kind: str, fmt: str) -> Response:
    """The Kaplan-Meier (`km`) or cumulative incidence (`competing`) figure as SVG or PNG."""
    query, explorer = _requested_explorer(need_figure=True)
    stem = "survival" if kind == "km" else "competing-outcomes"
    mimetype = "image/svg+xml" if fmt == "svg" else "image/png"
    return _download(explorer.drawing(kind, fmt), mimetype, tables.filename(query, stem, fmt))


@bp.get("/steps.csv")
@login_required
def steps_csv() -> Response:
    """Curve steps per group: time (years), at risk, events, censored, survival and its 95 % CI."""
    query, explorer = _requested_explorer()
    return _download(tables.steps_csv(explorer), "text/csv", tables.filename(query, "survival-steps", "csv"))


@bp.get("/horizons.<any(csv, xlsx):fmt>")
@login_required
def horizons(fmt: str) -> Response:
    """The horizon table: survival with CI and at risk, expected and relative survival, per group."""
    query, explorer = _requested_explorer()
    if fmt == "csv":
        return _download(tables.horizons_csv(explorer), "text/csv", tables.filename(query, "survival-horizons", "csv"))
    return _download(tables.horizons_xlsx(explorer), tables.XLSX_MIMETYPE,
                     tables.filename(query, "survival-horizons", "xlsx"))


@bp.get("/competing.csv")
@login_required
def competing_csv() -> Response:
    """Cumulative incidence of closure and of loss of the cooperative form at the horizons, per group."""
    query, explorer = _requested_explorer()
    return _download(tables.competing_csv(explorer), "text/csv", tables.filename(query, "competing-outcomes", "csv"))


# --- the cases of a group -----------------------------------------------------------------------

@bp.get("/cases")
@login_required
def cases() -> Any:
    """The cases of the selection (or of one group of it) that the user may see, read-only."""
    user = _user()
    require(user, "case.list")
    query = _query_or_400(user)
    group = request.args.get("group") or None
    page = service.case_page(user, query, group, request.args.get("page", 1, type=int) or 1)
    return render_template(
        "research/cases.html", rows=page.rows, reason_of=page.reason_of, group=group,
        query=query, total=page.total, included=page.included, page=page.page, pages=page.pages,
        link=_linker(_view_args()), codes=page.federation_codes, exclusion_labels=vocabulary.EXCLUSION_REASONS,
        group_label=vocabulary.GROUP_FIELDS.get(query.group_by or "", ""),
        filters=service.filters_in_words(user, query))
