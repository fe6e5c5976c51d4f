from flask_wtf import FlaskForm
from wtforms import DateField, EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional


class LoginForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Log in")


class LogoutForm(FlaskForm):
    """Button-only form: logging out is a POST with a CSRF token."""

    submit = SubmitField("Log out")


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    password = PasswordField("New password", validators=[DataRequired(), Length(min=10, max=200)])
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("password", "Passwords differ.")])
    submit = SubmitField("Change password")


class CreateTokenForm(FlaskForm):
    name = StringField("Token name", validators=[DataRequired(), Length(max=100)],
                       description="What will use it, e.g. 'survival notebook'")
    expires_on = DateField("Expires on", validators=[Optional()],
                           description="The token stops working on this day (UTC). Default: in a year; "
                                       "empty: never.")
    submit = SubmitField("Create token")


class RevokeTokenForm(FlaskForm):
    submit = SubmitField("Revoke")


__all__ = ["CreateTokenForm", "RevokeTokenForm", "ChangePasswordForm", "Email", "LoginForm", "LogoutForm"]
