"""The staff start page: what is due (open cases not verified for 12 months, possible duplicates,
imports waiting for their confirmation), with one-click row actions."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy.orm import load_only

from tracker.cases import bp, pages
from tracker.cases.forms import ConfirmOperatingForm
from tracker.extensions import db
from tracker.models import OPERATING, Role
from tracker.services.casework import cases as case_service
from tracker.services.casework import completeness, duplicates
from tracker.services.casework.case_list import LIST_COLUMNS
from tracker.services.errors import DomainError, EditConflict
from tracker.services.permissions import require_role
from tracker.services.spreadsheets import staging

DUE_SHOWN = 50


@bp.route("/start")
@require_role(Role.STAFF, Role.ADMIN)
def start() -> str:
    user = pages.user()
    stmt = completeness.stale_cases_query(user, user.federation_id).options(load_only(*LIST_COLUMNS))
    due = db.paginate(stmt, page=1, per_page=DUE_SHOWN, error_out=False)
    pairs = duplicates.duplicates_counted(user, app_testing=current_app.testing)
    visible = [p for p in pairs or [] if duplicates.visible_to(user, p.other)]
    waiting = staging.pending(pages.staging_folder(), user.id, pages.staging_ttl())
    forms = {case.id: ConfirmOperatingForm(formdata=None, prefix="confirm", version=case.version)
             for case in due.items}
    return render_template("cases/start.html", due=due.items, due_total=due.total, forms=forms,
                           duplicates_total=len(visible) if pairs is not None else None,
                           elsewhere_total=len(pairs) - len(visible) if pairs is not None else 0,
                           waiting=waiting, cutoff=completeness.verification_cutoff())


@bp.route("/<int:case_id>/confirmed-today", methods=["POST"])
@require_role(Role.STAFF, Role.ADMIN)
def confirmed_today(case_id: int) -> Any:
    """The start page's row action: the case was confirmed operating today, from the source given."""
    case = pages.load_case(case_id, "case.follow_up")
    pages.refuse_if_deleted(case)
    form = ConfirmOperatingForm(prefix="confirm")
    if not form.validate_on_submit():
        flash(_("Say how it was confirmed (the source) and try again."), "warning")
        return redirect(url_for("cases.start"))
    check = case_service.FollowUp(checked_on=date.today(), outcome=OPERATING, source=form.source.data)
    try:
        case_service.record_follow_up(pages.user(), case, check, expected_version=form.version.data)
    except EditConflict:
        db.session.rollback()
        flash(_("Case %(ref)s was changed by someone else meanwhile; nothing was recorded.", ref=case.ref),
              "warning")
        return redirect(url_for("cases.start"))
    except DomainError as exc:
        db.session.rollback()
        flash(_("Case %(ref)s: %(message)s", ref=case.ref, message=exc.message), "warning")
        return redirect(url_for("cases.start"))
    db.session.commit()
    flash(_("Case %(ref)s confirmed operating today (%(source)s).", ref=case.ref, source=check.source), "success")
    if request.args.get("next") == "case":
        return redirect(url_for("cases.detail", case_id=case.id))
    return redirect(url_for("cases.start"))


