"""Form fields shared by the blueprints' forms."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import wtforms
from flask_babel import gettext as _

from tracker.i18n import format_date, writes_day_first

_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})")
_DAY_FIRST = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})")
_EXAMPLE = date(2025, 12, 31)


class DateField(wtforms.DateField):
    """A date input (`<input type="date">`, which browsers send as ISO) that also takes the date
    typed as the page's language writes it — 31/12/2025 on a French, Italian or Spanish page,
    where a browser without a date picker, a script or a pasted value sends it so — and refuses
    anything else with a message that shows how to write it. ISO is always accepted."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = " ".join(str(v) for v in valuelist).strip()
        self.data = None
        if not text:  # no date: Optional() or InputRequired() speaks for the field
            return
        day_first = writes_day_first()
        match = _ISO.fullmatch(text)
        parts = (match.group(1), match.group(2), match.group(3)) if match else None
        if parts is None and day_first and (match := _DAY_FIRST.fullmatch(text)):
            parts = (match.group(3), match.group(2), match.group(1))
        if parts is not None:
            try:
                self.data = date(int(parts[0]), int(parts[1]), int(parts[2]))
                return
            except ValueError:
                pass
        example = (_("%(local)s or %(iso)s", local=format_date(_EXAMPLE), iso=_EXAMPLE.isoformat()) if day_first
                   else _EXAMPLE.isoformat())
        raise ValueError(_("'%(value)s' is not a date: write it as %(example)s", value=text[:40], example=example))


class WholeNumberField(wtforms.IntegerField):
    """A whole number typed in a form, refused in the words an import uses for the same mistake
    ("'a dozen' is not a whole number"), in the page's language."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist:
            return
        text = str(valuelist[0]).strip()
        self.data = None
        if not text:  # no number: Optional() or InputRequired() speaks for the field
            return
        try:
            self.data = int(text)
        except ValueError:
            raise ValueError(_("'%(value)s' is not a whole number", value=text[:40])) from None
