"""Forms of the cases blueprint. They check shape (types, lengths, known choices); the case
rules of docs/design.md (dates, exits, codes, duplicate refs) are checked by tracker.services.casework.cases."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, IntegerField, RadioField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice  # type: ignore[attr-defined]  # WTForms 3.3; not in types-WTForms 3.2
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import HiddenInput

from tracker import MAX_DATABASE_ID, vocabulary
from tracker.fields import DateField, WholeNumberField
from tracker.i18n import format_date
from tracker.models import OPERATING
from tracker.services.casework.case_list import DEFAULT_SORT, DIRECTIONS, SORT_LABELS, CaseFilters
from tracker.services.casework.cases import CASE_FIELDS, CONTACT_FIELDS, MAX_LENGTHS
from tracker.services.casework.merge import MERGE_FIELDS
from tracker.services.reference import country_choices, nace_sections


def choices(pairs: Iterable[tuple[Any, str]], empty: str | None = None) -> list[SelectChoice]:
    """Select options from (value, label) pairs, with an optional empty first option."""
    head = [SelectChoice("", empty)] if empty is not None else []
    return [*head, *(SelectChoice(str(value), label) for value, label in pairs)]


TRANSFER_TYPE_CHOICES = vocabulary.TRANSFER_TYPES.choices()


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _upper(value: Any) -> Any:
    return value.strip().upper() if isinstance(value, str) else value


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _length(field: str) -> Length:
    return Length(max=MAX_LENGTHS[field])


def _year(form: FlaskForm, field: IntegerField) -> None:
    # Skipped when the text was not a number: that already has its message.
    if field.data is not None and not 1900 <= field.data <= 2100:
        raise ValidationError(_("must be a year between 1900 and 2100"))


class VersionField(IntegerField):
    """The case version the user loaded (optimistic locking), carried in a hidden input. A number
    no version column holds is read as a version no case has (-1): the save is then a conflict,
    never a database error."""

    widget = HiddenInput()

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if self.data is not None and not 0 <= self.data <= MAX_DATABASE_ID:
            self.data = -1


def _database_id(text: Any) -> int | None:
    """A posted id as an int, when an id column can hold it (else None: no such row)."""
    try:
        number = int(text)
    except (TypeError, ValueError):
        return None
    return number if 1 <= number <= MAX_DATABASE_ID else None


# --- list filters (GET) -----------------------------------------------------------------------

class FilterCasesForm(FlaskForm):
    """The list's search, filters and sort, read from the query string (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), filters=[_strip], validators=[Optional(), Length(max=100)],
                    description=_l("Name, ref or national id"), render_kw={"type": "search"})
    country = SelectField(_l("Country"), filters=[_upper], validators=[Optional()])
    transfer_type = SelectField(_l("Transfer type"), filters=[_lower], validators=[Optional()],
                                choices=choices(TRANSFER_TYPE_CHOICES, _l("All types")))
    status = SelectField(_l("Status"), validators=[Optional()],
                         choices=choices([("open", _l("Open")), ("closed", _l("Closed (exited)"))],
                                         _l("Open and closed")))
    year_from = WholeNumberField(_l("Transferred from (year)"), validators=[Optional(), _year])
    year_to = WholeNumberField(_l("Transferred to (year)"), validators=[Optional(), _year])
    federation = SelectField(_l("Federation"), validators=[Optional()])
    nace_section = SelectField(_l("NACE section"), filters=[_upper], validators=[Optional()])
    size_class = SelectField(_l("Size class"), validators=[Optional()],
                             choices=choices(vocabulary.SIZE_CLASSES.choices(), _l("All sizes")))
    region = StringField(_l("Region"), filters=[_upper], validators=[Optional(), Length(max=16)],
                         description=_l("NUTS or ISO 3166-2 code, or its beginning"))
    legal_form = StringField(_l("Legal form"), filters=[_strip], validators=[Optional(), Length(max=100)])
    not_verified_since = DateField(_l("Not verified since"), validators=[Optional()],
                                   description=_l("Open cases not confirmed operating since this date"))
    show_deleted = BooleanField(_l("Show deleted cases"), false_values=("", "0", "false", "n", "no", "off"))
    sort = SelectField(_l("Sort by"), choices=choices(SORT_LABELS.items()), default=DEFAULT_SORT)
    dir = SelectField(_l("Order"), choices=choices([("asc", _l("Ascending")), ("desc", _l("Descending"))]),
                      default="asc")

    def __init__(self, *args: Any, federations: list[tuple[int, str]] | None = None,
                 allow_deleted: bool = False, countries: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        present = set(countries) if countries is not None else None
        self.country.choices = choices([(code, label) for code, label in country_choices()
                                        if present is None or code in present], _l("All countries"))
        self.nace_section.choices = choices(((c.code, f"{c.code} · {c.label}") for c in nace_sections()),
                                            _l("All sections"))
        self.single_country = present is not None and len(present) <= 1 and not self.country.data
        if federations is None:
            del self.federation
        else:
            self.federation.choices = choices(federations, _l("All federations"))
        if not allow_deleted:
            del self.show_deleted

    def validate_year_to(self, field: IntegerField) -> None:
        if field.data is not None and self.year_from.data is not None and field.data < self.year_from.data:
            raise ValidationError(_("must not be before the 'from' year"))

    def filters(self) -> CaseFilters:
        """The filters to apply (call after validate()): a field that failed validation is left out,
        its message is shown next to it."""

        def ok(name: str) -> Any:
            field = self._fields.get(name)
            return None if field is None or field.errors else (field.data or None)

        federation = ok("federation")
        return CaseFilters(
            q=ok("q"), country=ok("country"), transfer_type=ok("transfer_type"), status=ok("status"),
            year_from=ok("year_from"), year_to=ok("year_to"),
            federation_id=int(federation) if federation else None,
            nace_section=ok("nace_section"), size_class=ok("size_class"), region=ok("region"),
            legal_form=ok("legal_form"), not_verified_since=ok("not_verified_since"),
            show_deleted=bool(ok("show_deleted")),
            sort=ok("sort") or DEFAULT_SORT,
            direction=ok("dir") if ok("dir") in DIRECTIONS else "asc",
        )

    def query_args(self) -> dict[str, Any]:
        """The applied filters as query-string arguments (without sort, order and page), for links."""
        f = self.filters()
        args = {"q": f.q, "country": f.country, "transfer_type": f.transfer_type, "status": f.status,
                "year_from": f.year_from, "year_to": f.year_to, "federation": f.federation_id,
                "nace_section": f.nace_section, "size_class": f.size_class, "region": f.region,
                "legal_form": f.legal_form,
                "not_verified_since": f.not_verified_since.isoformat() if f.not_verified_since else None,
                "show_deleted": "y" if f.show_deleted else None}
        return {k: v for k, v in args.items() if v is not None}

    def chips(self) -> list[tuple[str, str, dict[str, Any]]]:
        """The active filters as (field label, value as shown, query args without it), so each can
        be removed with one click."""
        args = self.query_args()
        out = []
        for name, value in args.items():
            field = self._fields.get("federation" if name == "federation" else name)
            if field is None:
                continue
            shown = str(value)
            if isinstance(field, SelectField):
                shown = next((str(label) for val, label, *_ in field.iter_choices() if str(val) == str(value)), shown)
            elif isinstance(field, BooleanField):
                shown = str(_("yes"))
            elif isinstance(field, DateField):
                shown = format_date(value)  # 31/12/2025 on a French page, as the list's dates
            out.append((str(field.label.text), shown, {k: v for k, v in args.items() if k != name}))
        return out


# --- create / edit ----------------------------------------------------------------------------

class CaseFormBase(FlaskForm):
    ref = StringField(_l("Ref"), filters=[_strip], validators=[DataRequired(), _length("ref")],
                      description=_l("Your federation's own reference; unique within the federation"))
    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), _length("name")])
    national_id = StringField(_l("National id"), filters=[_strip], validators=[Optional(), _length("national_id")],
                              description=_l("Business-register number (optional)"))
    # Codes are not restricted to the choices here: the service checks them and says what is wrong.
    country = SelectField(_l("Country"), validate_choice=False, validators=[DataRequired()])
    region = StringField(_l("Region"), filters=[_strip], validators=[Optional(), _length("region")],
                         description=_l("NUTS or ISO 3166-2 code (optional), e.g. FRK or FR-ARA"))
    nace = StringField(_l("NACE Rev. 2 code"), filters=[_strip], validators=[Optional(), Length(max=8)],
                       description=_l("Section, division, group or class, e.g. C, 25, 25.6, 25.62 or C25.6"))
    employees = WholeNumberField(_l("Employees at transfer"), validators=[Optional()], render_kw={"min": 0})
    transfer_date = DateField(_l("Transfer date"), validators=[InputRequired()])
    transfer_type = SelectField(_l("Transfer type"), validate_choice=False, validators=[DataRequired()],
                                choices=choices(TRANSFER_TYPE_CHOICES, _l("— choose —")))
    legal_form = StringField(_l("Legal form"), filters=[_strip], validators=[Optional(), _length("legal_form")])
    registered_on = DateField(_l("Registered on"), validators=[Optional()],
                              description=_l("When the federation started following the case; "
                                             "empty means the transfer date"))
    last_verified_on = DateField(_l("Last verified on"), validators=[Optional()],
                                 description=_l("Latest date the enterprise was confirmed operating "
                                                "(required for an open case)"))
    exit_date = DateField(_l("Exit date"), validators=[Optional()])
    founded_on = DateField(_l("Founded on"), validators=[Optional()],
                           description=_l("When the enterprise was created (optional); on or before the transfer"))
    exit_reason = SelectField(_l("Exit reason"), validate_choice=False,
                              choices=choices(vocabulary.EXIT_REASONS.choices(),
                                              _l("— (still operating)")))
    notes = TextAreaField(_l("Notes"), filters=[_strip], validators=[Optional(), _length("notes")],
                          render_kw={"rows": 3})
    contact_name = StringField(_l("Contact name"), filters=[_strip], validators=[Optional(), _length("contact_name")])
    contact_email = StringField(_l("Contact email"), filters=[_strip],
                                validators=[Optional(), _length("contact_email")], render_kw={"type": "email"})
    contact_phone = StringField(_l("Contact phone"), filters=[_strip],
                                validators=[Optional(), _length("contact_phone")], render_kw={"type": "tel"})
    # Shown only when the case has possible duplicates (services.casework.duplicates).
    confirm_distinct = BooleanField(_l("I checked the possible duplicates listed: this is a different enterprise"))

    def __init__(self, *args: Any, show_contact: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.country.choices = choices(country_choices(), _l("— choose —"))
        if not show_contact:
            for name in CONTACT_FIELDS:
                delattr(self, name)

    def apply_defaults(self, defaults: dict[str, Any]) -> None:
        """Fill empty fields with suggested values (a new case: the federation's country, next ref)."""
        for name, value in defaults.items():
            if name in self and not self[name].data and value is not None:
                self[name].data = value

    def case_values(self) -> dict[str, Any]:
        """The import-schema fields, for services.casework.cases (typed: dates, ints; '' for empty choices)."""
        return {name: self[name].data for name in CASE_FIELDS}

    def extra_values(self) -> dict[str, Any]:
        """Notes and, when the user may see them, the contact fields."""
        return {name: self[name].data for name in ("notes", *CONTACT_FIELDS) if name in self}


class _ChooseFederation(FlaskForm):
    """A form whose `federation` select lists the federations given, or is removed for staff
    (always their own federation, whatever is posted)."""

    federation: SelectField  # declared by each form that uses this

    def __init__(self, *args: Any, federations: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if federations is None:
            del self.federation
        else:
            self.federation.choices = choices(federations, _l("— choose —"))

    def federation_id(self) -> int | None:
        """The chosen federation's id; None when none (or no number) was posted."""
        if "federation" not in self or not self.federation.data:
            return None
        return _database_id(self.federation.data)


class CreateCaseForm(_ChooseFederation, CaseFormBase):
    federation = SelectField(_l("Federation"), validators=[InputRequired()])
    submit = SubmitField(_l("Create case"))



class EditCaseForm(CaseFormBase):
    version = VersionField(validators=[InputRequired()])
    submit = SubmitField(_l("Save changes"))


# --- follow-up and state changes --------------------------------------------------------------

class RecordFollowUpForm(FlaskForm):
    outcome = SelectField(_l("Outcome"), choices=choices([
        (OPERATING, _l("Operating (confirmed on this date)")),
        *((code, vocabulary.OUTCOMES.lazy(code)) for code in vocabulary.EXIT_REASONS)]))
    checked_on = DateField(_l("On"), validators=[InputRequired()], default=date.today)
    source = StringField(_l("Source"), filters=[_strip], validators=[Optional(), Length(max=200)],
                         description=_l("How it was checked, e.g. business register, phone call"))
    note = TextAreaField(_l("Note"), filters=[_strip], validators=[Optional(), Length(max=10_000)],
                         render_kw={"rows": 2})
    version = VersionField(validators=[InputRequired()])
    submit = SubmitField(_l("Record follow-up"))


class ConfirmOperatingForm(FlaskForm):
    """One click on the start page: the case was confirmed operating today, from this source."""

    source = StringField(_l("Source"), filters=[_strip], validators=[DataRequired(), Length(max=200)],
                         default=_l("phone call"))
    version = VersionField(validators=[InputRequired()])
    submit = SubmitField(_l("Confirmed operating today"))


class WithdrawExitForm(FlaskForm):
    note = TextAreaField(_l("Why was the exit wrong?"), filters=[_strip],
                         validators=[DataRequired(_l("Say why the exit was wrong.")), Length(max=10_000)],
                         render_kw={"rows": 2})
    version = VersionField(validators=[InputRequired()])
    submit = SubmitField(_l("Withdraw the exit"))


class DeleteCaseForm(FlaskForm):
    """Button-only form: the POST carries the CSRF token."""

    submit = SubmitField(_l("Delete case"))


class RestoreCaseForm(FlaskForm):
    submit = SubmitField(_l("Restore case"))


# --- spreadsheets: import, status check, duplicates, follow-up completeness ---------------------

class UploadCasesForm(_ChooseFederation, FlaskForm):
    federation = SelectField(_l("Federation"), validators=[InputRequired()])
    file = FileField(_l("Spreadsheet"), validators=[FileRequired(_l("Choose a CSV or XLSX file."))],
                     render_kw={"accept": ".csv,.xlsx,text/csv,"
                                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    submit = SubmitField(_l("Upload and check"))



class ConfirmImportForm(FlaskForm):
    confirm_distinct = BooleanField(_l("I checked the possible duplicates listed: they are different enterprises"))
    submit = SubmitField(_l("Import"))
    # A file with wrong rows: import the others (the wrong ones come back as a file to fix).
    import_valid = SubmitField(_l("Import only the valid rows"))


class UploadStatusCheckForm(FlaskForm):
    file = FileField(_l("Filled-in status check"), validators=[FileRequired(_l("Choose a CSV or XLSX file."))],
                     render_kw={"accept": ".csv,.xlsx,text/csv,"
                                          "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"})
    submit = SubmitField(_l("Upload and check"))


class ConfirmStatusCheckForm(FlaskForm):
    submit = SubmitField(_l("Record the follow-ups"))
    # A sheet with wrong rows: record the others (the wrong ones come back as a file to fix).
    record_valid = SubmitField(_l("Record only the valid rows"))


class ConfirmDistinctForm(FlaskForm):
    """Button form of one possible-duplicate pair: the two case ids travel in hidden inputs."""

    case_id = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(1, MAX_DATABASE_ID)])
    other_id = IntegerField(widget=HiddenInput(), validators=[InputRequired(), NumberRange(1, MAX_DATABASE_ID)])
    next = StringField(widget=HiddenInput(), validators=[Optional(), Length(max=500)])
    submit = SubmitField(_l("Different enterprises"))


class FilterDuplicatesForm(FlaskForm):
    class Meta:
        csrf = False

    scope = SelectField(_l("Show"), choices=choices([("across", _l("Pairs across federations")),
                                                     ("all", _l("All pairs"))]),
                        default="across")


class FilterFollowUpForm(FlaskForm):
    class Meta:
        csrf = False

    federation = SelectField(_l("Federation"), validators=[Optional()])

    def __init__(self, *args: Any, federations: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if federations is None:
            del self.federation
        else:
            self.federation.choices = choices(federations, _l("All federations"))

    def federation_id(self) -> int | None:
        field = self._fields.get("federation")
        return _database_id(field.data) if field is not None and field.data and not field.errors else None



class CensusForm(FlaskForm):
    """The census sheet's date: a GET form (the federation is the one chosen for the list) whose
    buttons choose the format. The date is checked by `completeness.census_date`, which names
    the problem."""

    class Meta:
        csrf = False

    census_date = StringField(_l("Census date"), render_kw={"type": "date", "min": "1900-01-01"},
                              description=_l("Every case open on that day is listed (default: 31 December of "
                                             "last year)."))


# --- duplicates resolved: merge, undo, move; saved views of the list -------------------------------

class MergeCasesForm(FlaskForm):
    """The compare page: which of the two cases (a, b) is kept, and for each field that differs
    which case's value the kept case gets (`value_<field>`; none chosen keeps the kept case's own)."""

    a_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    b_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    a_version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    b_version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    keep = RadioField(_l("Case kept"), choices=choices([("a", "A"), ("b", "B")]), default="a",
                      validators=[InputRequired()])
    submit = SubmitField(_l("Merge the two cases"))

    def taken(self) -> list[str]:
        """The fields whose value comes from the case not kept."""
        kept = self.keep.data
        return [name for name in MERGE_FIELDS
                if self[f"value_{name}"].data in ("a", "b") and self[f"value_{name}"].data != kept]


for _name in MERGE_FIELDS:
    setattr(MergeCasesForm, f"value_{_name}", RadioField(choices=choices([("a", "A"), ("b", "B")]),
                                                         validate_choice=False, validators=[Optional()]))


class UndoMergeForm(FlaskForm):
    """Button form on the merged case: the versions both cases had when the page was shown."""

    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    kept_version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    submit = SubmitField(_l("Undo the merge"))


class MoveCaseForm(FlaskForm):
    federation = SelectField(_l("Move to federation"), coerce=int, validators=[InputRequired()])
    ref = StringField(_l("Ref in that federation"), filters=[_strip], validators=[Optional(), Length(max=64)],
                      description=_l("Its own ref unless that is in use there"))
    version = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
    submit = SubmitField(_l("Move the case"))

    def __init__(self, *args: Any, federations: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.federation.choices = choices(federations or [])


class SaveViewForm(FlaskForm):
    """Save the list's current filters: the service checks the name and the query string."""

    name = StringField(_l("Name of the view"), filters=[_strip], validators=[Length(max=200)])
    query = StringField(widget=HiddenInput(), validators=[Optional(), Length(max=4000)])
    submit = SubmitField(_l("Save this view"))


class DeleteViewForm(FlaskForm):
    submit = SubmitField(_l("Delete"))


__all__ = ["ConfirmDistinctForm", "DeleteViewForm", "MergeCasesForm", "MoveCaseForm", "SaveViewForm",
           "UndoMergeForm", "ConfirmOperatingForm",
           "CensusForm", "ConfirmImportForm", "ConfirmStatusCheckForm", "CreateCaseForm", "DeleteCaseForm",
           "EditCaseForm", "FilterCasesForm", "FilterDuplicatesForm", "FilterFollowUpForm", "RecordFollowUpForm",
           "RestoreCaseForm", "UploadCasesForm", "UploadStatusCheckForm", "WithdrawExitForm"]
