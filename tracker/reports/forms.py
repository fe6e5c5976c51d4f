"""Forms of the reports blueprint: they check shape; the report service checks the rules
(year range, reference date not in the future nor before the year)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, SubmitField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; not in types-WTForms 3.2
from wtforms.validators import InputRequired, NumberRange, Optional

from tracker.fields import DateField, WholeNumberField
from tracker.i18n import LANGUAGES, current_language
from tracker.reports.editions import FORMATS


class GenerateReportForm(FlaskForm):
    year = WholeNumberField(_l("Year"), validators=[InputRequired(message=_l("Give the year of the report.")),
                                                NumberRange(min=1900, max=2100)])
    as_of = DateField(_l("Reference date"), validators=[Optional()],
                      description=_l("Default: 31 December of the year. Exits and checks after it are not counted."))
    format = SelectField(_l("Format"), choices=[SelectChoice(key, f.label) for key, f in FORMATS.items()],
                         default="pdf",
                         description=_l("Every format of the edition is kept; this one is offered first."))
    language = SelectField(_l("Language of the report"),
                           choices=[SelectChoice(code, name) for code, name in LANGUAGES.items()],
                           default=current_language,  # the reader's own language
                           description=_l("The same edition, with the same figures, may be published in several "
                                          "languages."))
    submit = SubmitField(_l("Generate the report"))
