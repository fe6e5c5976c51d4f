"""Forms of the admin area. They check the shape of the input; the services check the rules
(code format, ISO country, unique code/email, password policy, role/federation consistency)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; not in types-WTForms 3.2
from wtforms.validators import DataRequired, EqualTo, Length

from tracker import vocabulary
from tracker.i18n import LANGUAGE_CHOICES
from tracker.models import Role

NO_FEDERATION = SelectChoice("", _l("— none (admins and researchers) —"))
NO_COUNTRY = SelectChoice("", _l("Choose a country…"))
ROLE_CHOICES = [SelectChoice(r.value, vocabulary.ROLES.lazy(r.value)) for r in Role]
LANGUAGE_HELP = _l("Pages and messages are shown to the user in this language; without one, in the "
                   "browser's language.")


def select_choices(pairs: list[tuple[Any, str]]) -> list[SelectChoice]:
    """(value, label) pairs, as services and reference data give them, as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def optional_int(value: Any) -> int | None:
    """Coerce a select value to an id; the empty option means no federation."""
    if value in (None, "", "None"):
        return None
    return int(value)


class CreateFederationForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=32)],
                       description=_l("Letters, digits, '-' or '_', e.g. FR-CGSCOP. It cannot be changed later."))
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    # The service says why an unknown code is refused, so the select does not pre-validate.
    country = SelectField(_l("Country"), validate_choice=False,
                          validators=[DataRequired(message=_l("Choose a country."))])
    submit = SubmitField(_l("Create federation"))

    def __init__(self, *args: Any, country_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [NO_COUNTRY, *select_choices(country_choices)]


class EditFederationForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    country = SelectField(_l("Country"), validate_choice=False,
                          validators=[DataRequired(message=_l("Choose a country."))])
    submit = SubmitField(_l("Save changes"))

    def __init__(self, *args: Any, country_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [NO_COUNTRY, *select_choices(country_choices)]


class CreateUserForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, default=Role.STAFF.value,
                       validators=[DataRequired()])
    federation = SelectField(_l("Federation"), coerce=optional_int,
                             description=_l("Required for staff; leave empty for admins and researchers."))
    password = PasswordField(_l("Initial password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters; give it to the user through a separate channel. "
                                             "They choose their own at first login."))
    confirm = PasswordField(_l("Repeat the password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))])
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="", description=LANGUAGE_HELP)
    submit = SubmitField(_l("Create user"))

    def __init__(self, *args: Any, federation_choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.federation.choices = [NO_FEDERATION, *select_choices(federation_choices)]


class EditUserForm(FlaskForm):
    role = SelectField(_l("Role"), choices=ROLE_CHOICES,
                       validators=[DataRequired()])
    federation = SelectField(_l("Federation"), coerce=optional_int,
                             description=_l("Required for staff; leave empty for admins and researchers."))
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, default="", description=LANGUAGE_HELP)
    submit = SubmitField(_l("Save changes"))

    def __init__(self, *args: Any, federation_choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.federation.choices = [NO_FEDERATION, *select_choices(federation_choices)]


class ResetPasswordForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters. The user's open sessions end."))
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), EqualTo("password", _l("The passwords differ."))])
    submit = SubmitField(_l("Reset password"))


class ChangeStatusForm(FlaskForm):
    """Button-only form (deactivate, reactivate): a POST that carries the CSRF token."""

    submit = SubmitField(_l("Apply"))
