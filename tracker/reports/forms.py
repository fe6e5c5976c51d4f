"""Forms of the reports blueprint: they check shape; the report service checks the rules
(year range, reference date not in the future nor before the year)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, IntegerField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; not in types-WTForms 3.2
from wtforms.validators import InputRequired, NumberRange, Optional

from tracker.reports.editions import FORMATS


class GenerateReportForm(FlaskForm):
    year = IntegerField("Year", validators=[InputRequired(message="Give the year of the report."),
                                            NumberRange(min=1900, max=2100)])
    as_of = DateField("Reference date", validators=[Optional()],
                      description="Default: 31 December of the year. Exits and checks after it are not counted.")
    format = SelectField("Format", choices=[SelectChoice(key, f.label) for key, f in FORMATS.items()], default="pdf")
    submit = SubmitField("Generate the report")
