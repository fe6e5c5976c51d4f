from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; not in types-WTForms 3.2
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional

from tracker.fields import DateField
from tracker.i18n import LANGUAGE_CHOICES, LANGUAGES


class LoginForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    submit = SubmitField(_l("Log in"))


class LogoutForm(FlaskForm):
    """Button-only form: logging out is a POST with a CSRF token."""

    submit = SubmitField(_l("Log out"))


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(min=10, max=200)])
    confirm = PasswordField(_l("Repeat new password"),
                            validators=[DataRequired(), EqualTo("password", _l("Passwords differ."))])
    submit = SubmitField(_l("Change password"))


class ProfileForm(FlaskForm):
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES,
                           description=_l("Pages, messages and figures are shown in this language. "
                                          "Without a choice, in your browser's language."))
    submit = SubmitField(_l("Save"))


class SwitchLanguageForm(FlaskForm):
    """The language switch of every page: one button per language (no JavaScript)."""

    language = SelectField(choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
                           validators=[DataRequired()])
    next = HiddenField()


class CreateTokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("What will use it, e.g. 'survival notebook'"))
    expires_on = DateField(_l("Expires on"), validators=[Optional()],
                           description=_l("The token stops working on this day (UTC). Default: in a year; "
                                          "empty: never."))
    submit = SubmitField(_l("Create token"))


class RevokeTokenForm(FlaskForm):
    submit = SubmitField(_l("Revoke"))


__all__ = ["CreateTokenForm", "RevokeTokenForm", "ChangePasswordForm", "Email", "LoginForm", "LogoutForm",
           "ProfileForm", "SwitchLanguageForm"]
