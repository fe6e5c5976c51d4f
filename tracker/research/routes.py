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
from werkzeug.datastructures import MultiDict

from tracker import vocabulary
from tracker.models import User
from tracker.research import bp
from tracker.research.forms import ExploreSurvivalForm
from tracker.services.analytics import explorer as service
from tracker.services.analytics import explorer_tables as tables
from tracker.services.analytics.survival_query import InvalidParameter, SurvivalQuery
from tracker.services.permissions import require
from tracker.web import current_actor

#: Parameters of the pages themselves, not of the analysis (`bands`: the CI bands on or off; `lang`:
#: the language switch every page takes).
PAGE_PARAMETERS = ("page", "group", "bands", "lang", "bare")
#: Parameters a link to another view of the same selection leaves out.
LOCAL_PARAMETERS = ("page", "group", "lang", "bare")

_user = current_actor


# --- reading the query string -------------------------------------------------------------------

def _read(user: User) -> tuple[ExploreSurvivalForm, SurvivalQuery | None, list[str]]:
    """The form filled from the query string, the query it asks for (None when invalid) and the
    problems, each naming its field."""
    args = _args()
    form = ExploreSurvivalForm(formdata=args, federations=service.federation_choices(user),
                               present_countries=service.present_countries(user))
    if not form.validate():
        problems = [f"{form[name].label.text} ({name}): {message}"
                    for name, messages in form.errors.items() for message in messages]
        return form, None, problems
    try:
        query = SurvivalQuery.from_params(args, allow=PAGE_PARAMETERS)
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
    return {k: v for k, v in _args().to_dict(flat=False).items() if k not in LOCAL_PARAMETERS}


def _args() -> MultiDict[str, str]:
    """The query string, with the Cox covariates in the address's form `covariates=a,b` when the
    form's boxes came as one parameter each (a browser without the explorer's script)."""
    args = request.args.copy()
    covariates = args.getlist("covariates")
    if len(covariates) > 1:
        args.setlist("covariates", [",".join(covariates)])
    return args


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
                               link=_linker(args), chips=_chips(form, args)), 400
    explorer = service.build_explorer(user, query, service.View.from_params(request.args))
    context = {
        "explorer": explorer, "link": _linker(args), "query": query,
        "api_url": url_for("api.survival") + "?" + urlencode(query.to_params(), doseq=True),
        "group_label": vocabulary.GROUP_FIELDS.get(query.group_by or "", ""),
        "exclusion_labels": vocabulary.EXCLUSION_REASONS, "baseline_labels": vocabulary.BASELINE_SERIES,
        "microdata_url": _microdata_url(query), "threshold": current_app.config.get("SURVIVAL_UNSTABLE_AT_RISK", 10),
    }
    result = explorer.page(sorted((k, tuple(v)) for k, v in args.items()),
                           lambda: render_template("research/_result.html", **context))
    return render_template("research/index.html", form=form, problems=[], chips=_chips(form, args), result=result,
                           **context)


# --- downloads ----------------------------------------------------------------------------------

def _download(body: bytes | str, mimetype: str, filename: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _microdata_url(query: SurvivalQuery) -> str | None:
    """The anonymised microdata of the selection (API), once the API offers it."""
    if "api.microdata" not in current_app.view_functions:
        return None
    return url_for("api.microdata") + "?" + urlencode(query.to_params(), doseq=True)


def _chips(form: ExploreSurvivalForm, args: Mapping[str, list[str]]) -> list[dict[str, str]]:
    """One chip per chosen filter value: its field, its label and the address without it."""
    chips = []
    for name in ("country", "transfer_type", "nace_section", "federation", "size_class"):
        field = form._fields.get(name)
        if field is None:
            continue
        labels = {str(value): str(label) for value, label, *_rest in field.iter_choices()}
        for value in field.data or []:
            rest = {k: ([x for x in v if x != value] if k == name else v) for k, v in args.items()}
            chips.append({"field": str(field.label.text), "label": labels.get(value, value),
                          "remove": url_for("research.index") + "?" + urlencode(rest, doseq=True)})
    for name in ("cohort_from", "cohort_to"):
        value = request.args.get(name)
        if value:
            rest = {k: v for k, v in args.items() if k != name}
            chips.append({"field": str(form[name].label.text), "label": value,
                          "remove": url_for("research.index") + "?" + urlencode(rest, doseq=True)})
    return chips


def _requested_explorer(need_figure: bool = False) -> tuple[SurvivalQuery, service.Explorer]:
    """For the downloads: the current user's query from the URL (400 if invalid) and its explorer
    (404 when a figure is needed and there is nothing to draw)."""
    user = _user()
    require(user, "survival.view")
    query = _query_or_400(user)
    explorer = service.build_explorer(user, query, service.View.from_params(request.args))
    if need_figure and explorer.km is None:
        abort(404, description=explorer.message or "Nothing to draw for this selection.")
    return query, explorer


FIGURE_STEMS = {"km": "survival", "competing": "competing-outcomes", "hazard": "hazard-by-year",
                "published": "published-figures", "forest": "cox-hazard-ratios"}
MIMETYPES = {"svg": "image/svg+xml", "png": "image/png", "pdf": "application/pdf"}


@bp.get("/figure/<any(km, competing, hazard, published, forest):kind>.<any(svg, png, pdf):fmt>")
@login_required
def figure(kind: str, fmt: str) -> Response:
    """A figure of the explorer as SVG, PNG or (vector) PDF, with its title, the selection in
    words, the date of the data, n and the source, so that it stands on its own."""
    query, explorer = _requested_explorer(need_figure=kind not in ("published", "forest"))
    try:
        body = explorer.drawing(kind, fmt, standalone=request.args.get("bare") != "1")
    except LookupError:
        abort(404, description="Nothing to draw for this selection.")
    return _download(body, MIMETYPES[fmt], tables.filename(query, FIGURE_STEMS[kind], fmt))


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


@bp.get("/table/<any(hazard, pairwise, cox):name>.csv")
@login_required
def further_table(name: str) -> Response:
    """The yearly hazard, the pairwise log-rank tests or the Cox model's terms, as CSV."""
    query, explorer = _requested_explorer()
    return _download(tables.further_csv(explorer, name), "text/csv", tables.filename(query, name, "csv"))


@bp.get("/cases.<any(csv, xlsx):fmt>")
@login_required
def cases_download(fmt: str) -> Response:
    """The drill-down case list with each case's entry, end of follow-up and event."""
    user = _user()
    require(user, "case.list")
    query = _query_or_400(user)
    group = request.args.get("group") or None
    body = tables.cases_table(fmt, user, query, group)
    mimetype = "text/csv" if fmt == "csv" else tables.XLSX_MIMETYPE
    return _download(body, mimetype, tables.filename(query, "cases", fmt, group=group))


@bp.get("/methods")
@login_required
def methods() -> Any:
    """How the explorer's figures are computed: the annual report's methods, in the app."""
    user = _user()
    require(user, "survival.view")
    return render_template("research/methods.html", **service.methods_text())


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
        group_name=service.group_labels(query, [group]).get(group or "", group) if group else None,
        filters=service.filters_in_words(user, query), filter_labels=service.FILTER_LABELS,
        followup=page.followup, transfer_types=vocabulary.TRANSFER_TYPES, exit_reasons=vocabulary.EXIT_REASONS)
