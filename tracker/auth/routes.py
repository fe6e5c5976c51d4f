"""Login, logout, password change; plus the site root and the health check (no URL prefix)."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import refresh
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import text

from tracker import i18n
from tracker.auth import bp
from tracker.auth.forms import (
    ChangePasswordForm,
    CreateTokenForm,
    LoginForm,
    LogoutForm,
    ProfileForm,
    RevokeTokenForm,
    SwitchLanguageForm,
)
from tracker.extensions import db, limiter
from tracker.models.base import utcnow
from tracker.services.accounts import tokens, users
from tracker.services.errors import DomainError
from tracker.web import current_actor, safe_next

LOGIN_FAILED = _l("Unknown email or wrong password.")



#: What a user who must set their own password may still reach: that page, logging out, the
#: language switch, static files. The JSON API authenticates by token and is never redirected.
FIRST_LOGIN_ALLOWED = frozenset({"auth.change_password", "auth.logout", "auth.switch_language", "auth.healthz",
                                 "static"})


@bp.before_app_request
def require_own_password():  # noqa: ANN201 - a redirect or None
    """An account created with an initial password goes to the password page first."""
    endpoint = request.endpoint or ""
    if (endpoint in FIRST_LOGIN_ALLOWED or endpoint.startswith("api.") or not current_user.is_authenticated
            or not getattr(current_user, "must_change_password", False)):
        return None
    return redirect(url_for("auth.change_password"))


#: Where each role starts: staff with what is due, the secretariat with the follow-up of every
#: federation, researchers with the survival explorer.
START_PAGES = {"staff": "cases.start", "admin": "cases.completeness_page", "researcher": "research.index"}


@bp.route("/")
def index():
    if current_user.is_authenticated:
        endpoint = START_PAGES.get(current_actor().role.value, "cases.index")
        return redirect(url_for(endpoint if endpoint in current_app.view_functions else "cases.index"))
    return redirect(url_for("auth.login"))


@bp.route("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return {"status": "error", "database": type(exc).__name__}, 503
    return {"status": "ok", "database": "ok"}


def _account_address_key() -> str:
    """Failures count per account *and* client address: an attacker's wrong passwords cannot lock
    the owner out from another address; the per-address limit bounds guessing across accounts."""
    email = (request.form.get("email") or "").strip().lower()[:254]
    return f"account:{email}|{get_remote_address()}"


def _failed(response) -> bool:  # noqa: ANN001 - only failed attempts count towards the limits
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"], deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"], key_func=_account_address_key,
               deduct_when=_failed)
def login():
    if current_user.is_authenticated:
        return redirect(url_for("auth.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = users.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            flash(LOGIN_FAILED, "danger")
            return render_template("auth/login.html", form=form, demo=_demo_logins()), 200
        user.last_login_at = utcnow()
        db.session.commit()
        session.clear()  # a fresh session at login: nothing set before authentication survives it
        login_user(user)
        return redirect(safe_next(request.args.get("next"), url_for("auth.index")))
    return render_template("auth/login.html", form=form, demo=_demo_logins())


def _demo_logins():  # noqa: ANN202
    """The quickstart's demo logins, on a development server only (SHOW_DEMO_LOGINS)."""
    if not current_app.config.get("SHOW_DEMO_LOGINS") or current_app.config.get("ENV_NAME") == "production":
        return None
    from tracker.services.ops import quickstart

    return quickstart.existing_demo_logins()


@bp.route("/logout", methods=["POST"])
def logout():
    if LogoutForm().validate_on_submit() and current_user.is_authenticated:
        users.end_sessions(current_actor())  # a copy of the cookie is worthless now
        db.session.commit()
        logout_user()
        flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    first_login = current_actor().must_change_password
    if form.validate_on_submit():
        user = current_actor()
        if not user.check_password(form.current_password.data or ""):
            form.current_password.errors = [*form.current_password.errors, _("Wrong password.")]
        else:
            try:
                users.change_password(user, user, form.password.data or "")
            except DomainError as exc:
                form.password.errors = [*form.password.errors, exc.message]
            else:
                db.session.commit()
                login_user(user)  # new nonce: this session stays, all others end
                flash(_("Password changed; other sessions were logged out."), "success")
                return redirect(url_for("auth.index"))
    return render_template("auth/password.html", form=form, first_login=first_login)


@bp.route("/account/profile", methods=["GET", "POST"])
@login_required
def profile():
    """The user's own settings: the interface language."""
    user = current_actor()
    form = ProfileForm(data={"language": user.language or ""})
    if form.validate_on_submit():
        try:
            users.set_language(user, user, form.language.data or None)
        except DomainError as exc:
            db.session.rollback()
            form.language.errors = [*form.language.errors, exc.message]
        else:
            db.session.commit()
            refresh()  # the message below is already in the new language
            flash(_("Your settings are saved."), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", form=form)


@bp.route("/language", methods=["POST"])
def switch_language():
    """The language switch: remembered in a cookie, and as the user's own setting when logged in."""
    form = SwitchLanguageForm()
    target = safe_next(form.next.data, url_for("auth.index"))
    if not form.validate_on_submit():
        return redirect(target)
    language = form.language.data
    if current_user.is_authenticated:
        users.set_language(current_actor(), current_actor(), language)
        db.session.commit()
    response = redirect(target)
    i18n.remember(response, language)
    return response


@bp.route("/account/tokens", methods=["GET", "POST"])
@login_required
def api_tokens():
    """Personal tokens for the read-only JSON API (`Authorization: Bearer <token>`)."""
    user = current_actor()
    form = CreateTokenForm(data={"expires_on": tokens.default_expiry()})
    new_token = None
    if form.validate_on_submit():
        try:
            _token, new_token = tokens.create_token(user, form.name.data or "", form.expires_on.data)
        except DomainError as exc:
            db.session.rollback()
            field = getattr(form, exc.field or "name", form.name)
            field.errors = [*field.errors, exc.message]
        else:
            db.session.commit()
            form = CreateTokenForm(formdata=None, data={"expires_on": tokens.default_expiry()})
    return render_template("auth/tokens.html", form=form, new_token=new_token, tokens=tokens.list_tokens(user),
                           revoke_form=RevokeTokenForm(), today=tokens.today_utc())


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_api_token(token_id: int):
    if RevokeTokenForm().validate_on_submit():
        try:
            tokens.revoke_token(current_actor(), token_id)
        except DomainError:
            db.session.rollback()
            abort(404)
        db.session.commit()
        flash(_("Token revoked; it no longer opens the API."), "success")
    return redirect(url_for("auth.api_tokens"))
