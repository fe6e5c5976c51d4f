"""Forms of the research blueprint: the survival explorer's filters, read from the query string so a
view can be bookmarked and shared. They check shape; tracker.services.analytics.queries checks the rest."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; not in types-WTForms 3.2
from wtforms.validators import Length, Optional, ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from tracker import vocabulary
from tracker.fields import DateField, WholeNumberField
from tracker.services.analytics.survival_query import GROUP_FIELDS, SIZE_CLASS_VALUES
from tracker.services.reference import countries, is_country, nace_sections

YEAR_MIN, YEAR_MAX = 1900, 2100
#: Form fields that become `where` filters of the analysis (the cohort range is handled apart).
FILTER_FIELDS = ("country", "transfer_type", "nace_section", "federation", "size_class")


def _choices(pairs: Iterable[tuple[str, str]]) -> list[SelectChoice]:
    return [SelectChoice(value, label) for value, label in pairs]


def _upper_all(values: Any) -> Any:
    return [v.strip().upper() for v in values] if isinstance(values, list) else values


def _on_off(value: Any) -> Any:
    """Also accept the API's spelling (delayed_entry=false), so an API query string works here."""
    if isinstance(value, str):
        text = value.strip().lower()
        return "on" if text in ("1", "true", "yes", "on") else "off" if text in ("0", "false", "no", "off") else value
    return value


def _year(form: FlaskForm, field: IntegerField) -> None:
    if field.data is not None and not YEAR_MIN <= field.data <= YEAR_MAX:
        raise ValidationError(_("must be a year between %(low)s and %(high)s", low=YEAR_MIN, high=YEAR_MAX))


def _countries(form: FlaskForm, field: SelectMultipleField) -> None:
    wrong = [v for v in field.data or [] if not is_country(v)]
    if wrong:
        raise ValidationError(_("'%(code)s' is not an ISO 3166-1 alpha-2 country code", code=wrong[0][:20]))


#: Several values of a filter are ticked, not Ctrl-clicked.
_CHECKBOXES = ListWidget(prefix_label=False)
#: The Cox model's covariates (docs/design.md): every grouping field, and the two numeric ones.
COVARIATE_CHOICES = [*((f, vocabulary.GROUP_FIELDS.lazy(f) if f != "age_band" else _l("Age at transfer (band)"))
                       for f in GROUP_FIELDS),
                     ("log_employees", _l("Employees (log)")), ("age_at_transfer", _l("Age at transfer (years)"))]


def _split_commas(values: Any) -> Any:
    """`covariates=a,b` (the address's form) and repeated boxes alike, as a list of names."""
    if not values:
        return values
    return [part.strip() for value in values for part in str(value).split(",") if part.strip()]
_CHECKBOX = CheckboxInput()


class ExploreSurvivalForm(FlaskForm):
    """The explorer's filters and options (GET; no CSRF token: it changes nothing).

    Several values of one filter are alternatives (country=FR&country=IT means France or Italy);
    different filters all apply.
    """

    class Meta:
        csrf = False

    country = SelectMultipleField(_l("Country"), filters=[_upper_all], validate_choice=False,
                                  validators=[Optional(), _countries], widget=_CHECKBOXES, option_widget=_CHECKBOX)
    transfer_type = SelectMultipleField(_l("Transfer type"), validators=[Optional()],
                                        choices=_choices(vocabulary.TRANSFER_TYPES.choices()),
                                        widget=_CHECKBOXES, option_widget=_CHECKBOX)
    nace_section = SelectMultipleField(_l("NACE section"), filters=[_upper_all], validators=[Optional()],
                                       widget=_CHECKBOXES, option_widget=_CHECKBOX)
    federation = SelectMultipleField(_l("Federation"), filters=[_upper_all], validators=[Optional()],
                                     widget=_CHECKBOXES, option_widget=_CHECKBOX)
    size_class = SelectMultipleField(_l("Size class (employees at transfer)"), validators=[Optional()],
                                     choices=_choices(vocabulary.SIZE_CLASSES.choices()),
                                     widget=_CHECKBOXES, option_widget=_CHECKBOX)
    cohort_from = WholeNumberField(_l("Transferred from (year)"), validators=[Optional(), _year])
    cohort_to = WholeNumberField(_l("Transferred until (year)"), validators=[Optional(), _year])
    endpoint = SelectField(_l("Endpoint"), choices=_choices(vocabulary.ENDPOINTS_SHORT.choices()), default="enterprise")
    as_of = DateField(_l("Analysis date (as of)"), validators=[Optional()],
                      description=_l("Empty: today. Later transfers are left out; later exits ignored."))
    delayed_entry = SelectField(_l("Delayed entry"), default="on", filters=[_on_off],
                                choices=_choices([("on", _l("On: a case counts from its registration")),
                                                  ("off", _l("Off: every case counts from its transfer"))]))
    group_by = SelectField(_l("Group by"), default="",
                           choices=_choices([("", _l("No grouping (all cases)")),
                                             *((f, vocabulary.GROUP_FIELDS.lazy(f)) for f in GROUP_FIELDS)]))
    cohort_bands = StringField(_l("Cohort bands"), validators=[Optional(), Length(max=200)],
                               description=_l("With “group by cohort”: e.g. 2000-2007,2008-2014. Empty: one group "
                                              "a year."))
    horizons = StringField(_l("Horizons (years)"), validators=[Optional(), Length(max=100)],
                           description=_l("Whole years, e.g. 1,2,3,4,5 (the default)."))
    model = SelectField(_l("Model"), default="",
                        choices=_choices([("", _l("None")), ("cox", _l("Cox proportional hazards"))]))
    covariates = SelectMultipleField(_l("Covariates of the Cox model"), filters=[_split_commas], validate_choice=False,
                                     choices=_choices(COVARIATE_CHOICES), widget=_CHECKBOXES, option_widget=_CHECKBOX,
                                     description=_l("With the Cox model; its terms follow this order."))

    def __init__(self, *args: Any, federations: Sequence[tuple[str, str]] | None = None,
                 present_countries: Iterable[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = countries()
        shown = sorted({*present_countries, *(c for c in self.country.data or [] if is_country(c))},
                       key=lambda c: names.get(c, c))
        self.country.choices = _choices((c, f"{names.get(c, c)} ({c})") for c in shown)
        self.nace_section.choices = _choices((s.code, f"{s.code} · {s.label}") for s in nace_sections())
        if federations is None:
            del self.federation
        else:
            self.federation.choices = _choices(federations)

    def validate_cohort_to(self, field: IntegerField) -> None:
        if field.data is not None and self.cohort_from.data is not None and field.data < self.cohort_from.data:
            raise ValidationError(_("must not be before the 'from' year"))

    def set_error(self, name: str, message: str) -> bool:
        """Show an analysis parameter's error next to its field; False if no field has that name."""
        field = self._fields.get(name)
        if field is None:
            return False
        field.errors = [*field.errors, message]
        return True


__all__ = ["ExploreSurvivalForm", "FILTER_FIELDS", "SIZE_CLASS_VALUES"]
