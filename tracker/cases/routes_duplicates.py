"""Possible duplicates: the report and the confirmation that two cases are different enterprises."""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from tracker.cases import bp, pages
from tracker.cases.forms import (
    ConfirmDistinctForm,
    FilterDuplicatesForm,
)
from tracker.extensions import db
from tracker.models import Role
from tracker.services.casework import duplicate_index, duplicates
from tracker.services.errors import DomainError, NotFound, PermissionDenied
from tracker.services.permissions import require_role
from tracker.web import safe_next

Form = Any  # a FlaskForm subclass instance

# --- possible duplicates ---------------------------------------------------------------------------

@bp.before_app_request
def warm_duplicate_index() -> None:
    """The duplicates report reads an index kept between requests: build it early for those who read it."""
    if current_user.is_authenticated and current_user.role in (Role.ADMIN, Role.STAFF):
        duplicate_index.warm(current_app._get_current_object())  # type: ignore[attr-defined]


@bp.route("/duplicates")
@require_role(Role.ADMIN, Role.STAFF)
def duplicates_page() -> str:
    """Admins: possible duplicates across federations (or all). Staff: those within their
    federation, and which of their cases has a possible duplicate elsewhere (nothing more)."""
    user = pages.user()
    is_admin = user.role == Role.ADMIN
    form = FilterDuplicatesForm(formdata=request.args)
    form.validate()
    across = is_admin and form.scope.data != "all"
    pairs = duplicates.all_duplicates(user, across_only=across)
    described = pages.describe_pairs(user, pairs, pages.federation_codes() if pairs else {})
    visible = [d for d in described if d["other"]["visible"]]
    elsewhere = list({d["case"]["id"]: d for d in described if not d["other"]["visible"]}.values())  # once per case
    return render_template("cases/duplicates.html", form=form if is_admin else None, total=len(visible),
                           pairs=visible[:pages.DUPLICATES_SHOWN], elsewhere=elsewhere[:pages.DUPLICATES_SHOWN],
                           elsewhere_total=len(elsewhere), across=across)



@bp.route("/duplicates/confirm", methods=["POST"])
@require_role(Role.ADMIN, Role.STAFF)
def confirm_distinct() -> Response:
    form = ConfirmDistinctForm()
    if not form.validate_on_submit():
        abort(400)
    assert form.case_id.data is not None and form.other_id.data is not None  # InputRequired
    try:
        stored = duplicates.confirm_pair(pages.user(), form.case_id.data, form.other_id.data)
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    except DomainError as exc:
        abort(400, description=exc.message)
    db.session.commit()
    flash(_("Confirmed: different enterprises; this pair will not be reported again.") if stored
          else _("This pair was already confirmed as different enterprises."), "success")
    return redirect(safe_next(form.next.data, url_for("cases.duplicates_page")))
