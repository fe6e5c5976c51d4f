"""Resolving duplicates (admins only): compare two cases side by side, merge them, undo a merge,
move a case to another federation. Views translate HTTP; tracker.services.casework.merge owns
the rules and the audit."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select
from werkzeug.wrappers import Response

from tracker import MAX_DATABASE_ID, vocabulary
from tracker.cases import bp, pages
from tracker.cases.forms import MergeCasesForm, MoveCaseForm, UndoMergeForm
from tracker.extensions import db
from tracker.models import Case, Federation, Role, StatusCheck
from tracker.services.casework import merge
from tracker.services.errors import DomainError, EditConflict, InvalidCase, NotFound, PermissionDenied
from tracker.services.permissions import require_role

Form = Any  # a FlaskForm subclass instance


def _pair_or_back(a_id: int | None, b_id: int | None) -> tuple[Case, Case] | Response:
    """The two cases to compare, or a redirect to the duplicates page saying why not (404 for an unknown id)."""
    if a_id is None or b_id is None:
        abort(400, description=_("Choose two cases to compare."))
    if not all(0 < case_id <= MAX_DATABASE_ID for case_id in (a_id, b_id)):
        abort(404)
    try:
        return merge.load_pair(pages.user(), a_id, b_id)
    except NotFound:
        abort(404)
    except PermissionDenied:
        abort(403)
    except DomainError as exc:
        flash(exc.message, "warning")
        return redirect(url_for("cases.duplicates_page"))


def _render_compare(a: Case, b: Case, form: Form | None = None, conflict: str | None = None,
                    status: int = 200) -> tuple[str, int]:
    form = form or MergeCasesForm(formdata=None, a_id=a.id, b_id=b.id, a_version=a.version, b_version=b.version)
    codes = pages.federation_codes()
    rows = [(row, vocabulary.CASE_FIELDS.get(row.field, row.field)) for row in merge.compare_fields(a, b)]
    return render_template("cases/compare.html", a=a, b=b, rows=rows, form=form, conflict=conflict,
                           federation_codes=codes, follow_ups=_follow_ups(a, b),
                           outcome_labels=vocabulary.OUTCOMES, value_labels=pages.value_labels()), status


def _follow_ups(a: Case, b: Case) -> dict[int, list[StatusCheck]]:
    return {case.id: list(db.session.scalars(select(StatusCheck).where(StatusCheck.case_id == case.id)
                                            .order_by(StatusCheck.checked_on.desc(), StatusCheck.id.desc())))
            for case in (a, b)}


@bp.route("/duplicates/compare")
@require_role(Role.ADMIN)
def compare() -> Any:
    """Two cases side by side (`?a=ID&b=ID`), differences marked, with the merge form."""
    pair = _pair_or_back(request.args.get("a", type=int), request.args.get("b", type=int))
    if isinstance(pair, Response):
        return pair
    return _render_compare(*pair)


@bp.route("/duplicates/merge", methods=["POST"])
@require_role(Role.ADMIN)
def merge_pair() -> Any:
    form = MergeCasesForm()
    if not form.validate_on_submit():
        abort(400, description=_("The merge form was incomplete; open the comparison again."))
    pair = _pair_or_back(form.a_id.data, form.b_id.data)
    if isinstance(pair, Response):
        return pair
    a, b = pair
    keep_a = form.keep.data == "a"
    kept, removed = (a, b) if keep_a else (b, a)
    kept_version, removed_version = ((form.a_version.data, form.b_version.data) if keep_a
                                     else (form.b_version.data, form.a_version.data))
    try:
        result = merge.merge_cases(pages.user(), kept, removed, kept_version, removed_version, form.taken())
    except EditConflict as exc:
        db.session.rollback()
        return _render_compare(a, b, conflict=exc.message, status=409)
    except InvalidCase as exc:
        db.session.rollback()
        form.form_errors.extend(f"{vocabulary.CASE_FIELDS.get(name, name)}: {message}"
                                for name, messages in exc.errors.items() for message in messages)
        return _render_compare(a, b, form=form, status=422)
    except DomainError as exc:
        db.session.rollback()
        form.form_errors.append(exc.message)
        return _render_compare(a, b, form=form, status=422)
    db.session.commit()
    flash(ngettext("Case %(removed)s was merged into case %(kept)s: %(num)d follow-up moved. You can undo the "
                   "merge from this page.",
                   "Case %(removed)s was merged into case %(kept)s: %(num)d follow-ups moved. You can undo the "
                   "merge from this page.", len(result.moved_follow_ups), removed=result.removed.ref,
                   kept=result.kept.ref), "success")
    return redirect(url_for("cases.detail", case_id=result.kept.id), code=303)


@bp.route("/<int:case_id>/unmerge", methods=["POST"])
@require_role(Role.ADMIN)
def unmerge(case_id: int) -> Response:
    removed = db.get_or_404(Case, case_id)
    form = UndoMergeForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        result = merge.undo_merge(pages.user(), removed, form.kept_version.data, form.version.data)
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "warning")
        return redirect(url_for("cases.detail", case_id=case_id), code=303)
    db.session.commit()
    message = ngettext("The merge was undone: case %(ref)s is back with its %(num)d follow-up.",
                       "The merge was undone: case %(ref)s is back with its %(num)d follow-ups.",
                       len(result.follow_ups_back), ref=result.restored.ref)
    if result.fields_kept:
        labels = ", ".join(str(vocabulary.CASE_FIELDS.get(f, f)) for f in result.fields_kept)
        message += " " + _("Changed on case %(ref)s since the merge, so left as they are now: %(fields)s.",
                           ref=result.kept.ref, fields=labels)
    flash(message, "success")
    return redirect(url_for("cases.detail", case_id=result.restored.id), code=303)


@bp.route("/<int:case_id>/move", methods=["GET", "POST"])
@require_role(Role.ADMIN)
def move(case_id: int) -> Any:
    case = db.get_or_404(Case, case_id)
    pages.refuse_if_deleted(case)
    targets = [(fid, label) for fid, label in pages.federations(active_only=True) if fid != case.federation_id]
    form = MoveCaseForm(federations=targets)
    if request.method == "GET":
        form = MoveCaseForm(formdata=None, federations=targets, ref=case.ref, version=case.version)
    elif form.validate_on_submit():
        target = db.session.get(Federation, form.federation.data)
        if target is None:
            abort(404)
        source_code = case.federation.code
        try:
            merge.move_case(pages.user(), case, target, form.ref.data, expected_version=form.version.data)
        except merge.RefTakenInTarget as exc:
            db.session.rollback()
            form.ref.errors = [*form.ref.errors, exc.message]
            form.ref.data = exc.suggestion
        except EditConflict as exc:
            db.session.rollback()
            return render_template("cases/move.html", case=case, form=form, conflict=exc.message), 409
        except DomainError as exc:
            db.session.rollback()
            pages.show_errors(form, exc)
        else:
            db.session.commit()
            flash(_("Case %(ref)s moved from %(source)s to %(target)s.", ref=case.ref, source=source_code,
                    target=target.code), "success")
            return redirect(url_for("cases.detail", case_id=case.id), code=303)
    return render_template("cases/move.html", case=case, form=form, conflict=None)
