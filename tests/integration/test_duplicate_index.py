"""The duplicates report reads an index kept between requests: it must follow every write (a
rename, a new case, a deletion, an import) exactly as a full comparison would, and list each pair
once with its reasons together."""

from __future__ import annotations

from datetime import date

from tracker.extensions import db
from tracker.models import Role
from tracker.services.casework import cases as case_service
from tracker.services.casework import duplicates
from tracker.services.casework.duplicates import load_cases


def report(user) -> set[tuple[str, str, tuple[str, ...]]]:  # noqa: ANN001
    return {(p.case.ref, p.other.ref, p.reasons) for p in duplicates.all_duplicates(user)}


def full_comparison() -> set[tuple[str, str, tuple[str, ...]]]:
    return {tuple(sorted((p.case.ref, p.other.ref))) + (p.reasons,)  # type: ignore[misc]
            for p in duplicates.find_duplicates(load_cases())}


def refs(found: set[tuple[str, str, tuple[str, ...]]]) -> set[tuple[str, str, tuple[str, ...]]]:
    return {tuple(sorted((a, b))) + (reasons,) for a, b, reasons in found}  # type: ignore[misc]


def test_the_report_follows_each_write_as_a_full_comparison_would(make_federation, make_case, make_user):
    fed = make_federation(country="FR")
    admin = make_user(Role.ADMIN)
    make_case(federation=fed, ref="A", name="Menuiserie Dupont", national_id="552100554",
              transfer_date=date(2016, 5, 2))
    b = make_case(federation=fed, ref="B", name="Menuiserie Dupond", national_id="FR 552 100 554",
                  transfer_date=date(2016, 8, 1))
    db.session.commit()
    first = report(admin)
    assert first == {("A", "B", ("same national id", "very similar name, transfer in the same year"))}
    assert len(duplicates.all_duplicates(admin)) == 1  # one pair, both reasons together

    values = case_service.case_values(b)
    case_service.update_case(None, b, {**values, "name": "Boulangerie Martin", "national_id": None},
                             expected_version=None)
    db.session.commit()
    assert report(admin) == set() == full_comparison()

    c = make_case(federation=fed, ref="C", name="Menuiserie Dupont SA", transfer_date=date(2016, 1, 9))
    db.session.commit()
    assert refs(report(admin)) == full_comparison() == {("A", "C", ("very similar name, transfer in the same year",))}

    case_service.delete_case(admin, c)
    db.session.commit()
    assert report(admin) == set() == full_comparison()


def test_staff_see_their_pairs_from_the_same_index(make_federation, make_case, make_user):
    mine, other = make_federation(country="FR"), make_federation(country="FR")
    make_case(federation=mine, ref="M", name="Atelier du Nord", transfer_date=date(2015, 3, 1))
    make_case(federation=other, ref="O", name="Atelier Nord", transfer_date=date(2015, 6, 1))
    make_case(federation=other, ref="X", name="Scierie Lemoine", transfer_date=date(2015, 6, 1))
    make_case(federation=other, ref="Y", name="Scierie Lemoinne", transfer_date=date(2015, 6, 1))
    db.session.commit()
    staff = make_user(Role.STAFF, federation=mine)
    pairs = duplicates.all_duplicates(staff)
    assert [(p.case.ref, p.other.ref) for p in pairs] == [("M", "O")]  # their case first; not the others' pair
