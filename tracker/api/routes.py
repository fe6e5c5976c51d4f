"""Read-only JSON API (/api/v1). Same parameters and output as `tracker survival --format json`."""

from __future__ import annotations

from flask import Response, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user

from tracker.api import bp
from tracker.services.analytics import microdata as microdata_service
from tracker.services.analytics import queries as analytics
from tracker.services.errors import DomainError
from tracker.services.permissions import can


@bp.errorhandler(DomainError)
def invalid_input(exc: DomainError) -> tuple[Response, int]:
    """Any error a user can cause answers 400 with the message (in the language the request asks
    for, English if none) and the parameter at fault (its machine name, in every language)."""
    return jsonify(error=exc.message, parameter=exc.field), 400


@bp.before_request
def require_login() -> tuple[Response, int] | None:
    if not current_user.is_authenticated:
        return jsonify(error=_("authentication required: log in first")), 401
    if not can(current_user, "survival.view"):
        return jsonify(error=_("not allowed: this account may not read the survival figures")), 403
    return None


def _query() -> analytics.SurvivalQuery:
    return analytics.SurvivalQuery.from_params(request.args)


@bp.get("/survival")
def survival() -> Response:
    """Kaplan-Meier survival by group with horizons, log-rank and baselines (the JSON of docs/design.md).
    Staff get their own federation's figures only.

    Parameters (docs/design.md, "JSON API"): as_of, endpoint, group_by (one field or two joined by a
    comma), horizons, delayed_entry, where, cohort_bands, baselines, rmst_tau (years > 0, default
    5), model (cox) and covariates (grouping fields, log_employees, age_at_transfer). A bad one answers 400
    {"error", "parameter"}."""
    return jsonify(analytics.survival_json(current_user, _query()))


@bp.get("/survival/competing")
def competing() -> Response:
    """Cumulative incidence of closure and of loss of the cooperative form, per group."""
    return jsonify(analytics.competing_report(current_user, _query()))


@bp.get("/microdata")
def microdata() -> Response:
    """The anonymised analysis data set of a selection, for R and Stata: a zip of microdata.csv,
    microdata.dta, codebook.csv and README.txt (services.analytics.microdata). Takes the
    parameters of /survival; the cases are those its figures use (as_of, delayed_entry, filters,
    cohort_bands; staff: their own federation's). A bad parameter answers 400 {"error", "parameter"}."""
    result = microdata_service.microdata(current_user, _query())
    response = Response(result.content, mimetype="application/zip")
    response.headers["Content-Disposition"] = f'attachment; filename="{result.filename}"'
    response.headers["X-Microdata-Rows"] = str(result.rows)
    return response
