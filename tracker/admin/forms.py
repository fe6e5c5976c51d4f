"""Forms of the admin area. They check the shape of the input; the services check the rules
(code format, ISO country, unique code/email, password policy, role/federation consistency)."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; not in types-WTForms 3.2
from wtforms.validators import DataRequired, EqualTo, Length

from tracker.models import Role

NO_FEDERATION = SelectChoice("", "— none (admins and researchers) —")
NO_COUNTRY = SelectChoice("", "Choose a country…")
ROLE_CHOICES = [SelectChoice(r.value, r.value.capitalize()) for r in Role]


def select_choices(pairs: list[tuple[Any, str]]) -> list[SelectChoice]:
    """(value, label) pairs, as services and reference data give them, as WTForms choices."""
    return [SelectChoice(value, label) for value, label in pairs]


def optional_int(value: Any) -> int | None:
    """Coerce a select value to an id; the empty option means no federation."""
    if value in (None, "", "None"):
        return None
    return int(value)


class CreateFederationForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=32)],
                       description="Letters, digits, '-' or '_', e.g. FR-CGSCOP. It cannot be changed later.")
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    # The service says why an unknown code is refused, so the select does not pre-validate.
    country = SelectField("Country", validate_choice=False,
                          validators=[DataRequired(message="Choose a country.")])
    submit = SubmitField("Create federation")

    def __init__(self, *args: Any, country_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [NO_COUNTRY, *select_choices(country_choices)]


class EditFederationForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    country = SelectField("Country", validate_choice=False,
                          validators=[DataRequired(message="Choose a country.")])
    submit = SubmitField("Save changes")

    def __init__(self, *args: Any, country_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = [NO_COUNTRY, *select_choices(country_choices)]


class CreateUserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=ROLE_CHOICES,
                       validators=[DataRequired()])
    federation = SelectField("Federation", coerce=optional_int,
                             description="Required for staff; leave empty for admins and researchers.")
    password = PasswordField("Initial password", validators=[DataRequired(), Length(max=200)],
                             description="At least 10 characters; give it to the user through a separate channel.")
    confirm = PasswordField("Repeat the password",
                            validators=[DataRequired(), EqualTo("password", "The passwords differ.")])
    submit = SubmitField("Create user")

    def __init__(self, *args: Any, federation_choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.federation.choices = [NO_FEDERATION, *select_choices(federation_choices)]


class EditUserForm(FlaskForm):
    role = SelectField("Role", choices=ROLE_CHOICES,
                       validators=[DataRequired()])
    federation = SelectField("Federation", coerce=optional_int,
                             description="Required for staff; leave empty for admins and researchers.")
    submit = SubmitField("Save changes")

    def __init__(self, *args: Any, federation_choices: list[tuple[Any, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.federation.choices = [NO_FEDERATION, *select_choices(federation_choices)]


class ResetPasswordForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)],
                             description="At least 10 characters. The user's open sessions end.")
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), EqualTo("password", "The passwords differ.")])
    submit = SubmitField("Reset password")


class ChangeStatusForm(FlaskForm):
    """Button-only form (deactivate, reactivate): a POST that carries the CSRF token."""

    submit = SubmitField("Apply")
