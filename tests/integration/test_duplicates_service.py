"""Duplicate detection (services.casework.duplicates): the normalisation and similarity rule, the two
reasons, confirmed-distinct pairs, deleted cases, and what each role may see."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import AuditEntry, DistinctCasePair, Role
from tracker.services.casework import duplicates
from tracker.services.casework.duplicates import (
    REASON_NAME,
    REASON_NATIONAL_ID,
    CaseIdentity,
    find_duplicates,
    name_similarity,
    name_words,
    national_id_key,
)
from tracker.services.errors import NotFound, PermissionDenied

pytestmark = pytest.mark.usefixtures("app")  # confirmed pairs are read from the database


def identity(ref: str, name: str, national_id: str | None = None, country: str = "FR", year: int = 2015,
             federation_id: int = 1, case_id: int | None = None, row: int | None = None) -> CaseIdentity:
    return CaseIdentity(case_id, federation_id, ref, name, national_id, country, year, row)


# --- the rule -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("a", "b"), [
    ("Atelier Coopératif du Nord", "atelier cooperatif nord"),  # accents, case, filler words
    ("Menuiserie Dupont SCOP SA", "Menuiserie Dupont"),  # legal form
    ("Nord Atelier", "Atelier du Nord"),  # word order
    ("Menuiserie Dupont", "Menuiserie Dupond"),  # one typo
    ("Transports Solidaires", "Transport Solidaire"),  # plurals
    ("L'Imprimerie d'Ouest", "Imprimerie Ouest"),  # elisions
])
def test_very_similar_names(a, b):
    assert name_similarity(a, b) >= duplicates.NAME_SIMILARITY


@pytest.mark.parametrize(("a", "b"), [
    ("Atelier du Nord", "Atelier du Sud"),
    ("Boulangerie Martin", "Boulangerie Durand"),
    ("Atelier 12", "Atelier 13"),  # numbers must agree
    ("Cooperative 1", "Cooperative 2"),
    ("ABC", "ABD"),
])
def test_names_that_are_not_similar_enough(a, b):
    assert name_similarity(a, b) < duplicates.NAME_SIMILARITY


def test_name_words_keep_everything_when_only_filler_words_are_left():
    assert name_words("La Coopérative") == ("cooperative", "la")
    assert name_words("Ελληνική Συνεργασία") == ("ελληνικη", "συνεργασια")  # other scripts are kept


def test_national_ids_are_compared_without_separators_and_country_prefix():
    assert national_id_key("FR 552 100 554", "FR") == national_id_key("552.100.554", "FR") == "552100554"
    assert national_id_key("  ", "FR") is None
    assert national_id_key("IT552100554", "FR") == "IT552100554"


def test_same_national_id_same_country_is_a_possible_duplicate_whatever_the_name_or_year():
    new = identity("NEW", "Something Else", "552 100 554", year=2020)
    old = identity("OLD", "Atelier", "FR552100554", case_id=7)
    [pair] = find_duplicates([new], [old])
    assert (pair.case, pair.other, pair.reasons) == (new, old, (REASON_NATIONAL_ID,))


def test_same_national_id_in_another_country_is_not():
    assert find_duplicates([identity("NEW", "A", "552100554")], [identity("OLD", "B", "552100554", "IT",
                                                                          case_id=7)]) == []


def test_similar_name_needs_the_same_country_and_transfer_year():
    new = identity("NEW", "Menuiserie Dupont")
    same = identity("A", "Menuiserie Dupond", case_id=1)
    other_year = identity("B", "Menuiserie Dupont", year=2016, case_id=2)
    other_country = identity("C", "Menuiserie Dupont", country="BE", case_id=3)
    [pair] = find_duplicates([new], [same, other_year, other_country])
    assert pair.other == same and pair.reasons == (REASON_NAME,) and pair.similarity == 0.941


def test_both_reasons_are_given_when_both_hold():
    [pair] = find_duplicates([identity("N", "Atelier Nord", "1234")], [identity("O", "Atelier du Nord", "1234",
                                                                              case_id=1)])
    assert pair.reasons == (REASON_NATIONAL_ID, REASON_NAME) and pair.similarity == 1.0


def test_rows_of_one_file_are_compared_with_each_other_once():
    rows = [identity("A", "Verrerie Unie", row=2), identity("B", "Verrerie Unie SCOP", row=3),
            identity("C", "Scierie", row=4)]
    [pair] = find_duplicates(rows)
    assert (pair.case.ref, pair.other.ref) == ("A", "B")


def test_pool_cases_are_not_compared_with_each_other():
    pool = [identity("A", "Verrerie Unie", case_id=1), identity("B", "Verrerie Unie", case_id=2)]
    assert find_duplicates([identity("N", "Scierie")], pool) == []


def test_a_case_being_edited_is_not_its_own_duplicate():
    edited = identity("A", "Verrerie Unie", case_id=1)
    assert find_duplicates([edited], [identity("A", "Verrerie Unie", case_id=1)]) == []


def test_large_blocks_are_fast_enough_to_check_a_whole_import():
    """100,000 demo-like names (as in the benchmark) in one country: blocks by year and numbers."""
    rows = [identity(f"R{i}", f"Atelier du Nord {i}", year=2003 + i % 22, row=i) for i in range(20_000)]
    assert find_duplicates(rows) == []


# --- stored data ----------------------------------------------------------------------------------

@pytest.fixture
def two_federations(make_federation, make_case):
    fr = make_federation(code="FR-D", country="FR")
    be = make_federation(code="BE-D", country="FR")  # a federation may follow cases of another country
    a = make_case(federation=fr, ref="A", name="Menuiserie Dupont", national_id="552100554",
                  transfer_date=date(2015, 3, 1))
    b = make_case(federation=fr, ref="B", name="Menuiserie Dupond", transfer_date=date(2015, 9, 1))
    c = make_case(federation=be, ref="C", name="Other Name", national_id="FR 552 100 554",
                  transfer_date=date(2010, 1, 1))
    return fr, be, a, b, c


def test_duplicates_of_one_case_are_found_in_the_database(two_federations):
    _, _, a, b, c = two_federations
    pairs = duplicates.duplicates_of(duplicates.identity_of(
        {"ref": "NEW", "name": "menuiserie dupont", "national_id": "552100554", "country": "FR",
         "transfer_date": date(2015, 12, 31)}, federation_id=a.federation_id))
    assert {(p.other.id, p.reasons) for p in pairs} == {(a.id, (REASON_NATIONAL_ID, REASON_NAME)),
                                                        (b.id, (REASON_NAME,)), (c.id, (REASON_NATIONAL_ID,))}


def test_confirmed_pairs_and_deleted_cases_are_not_reported(two_federations, make_user):
    _, _, a, b, c = two_federations
    admin = make_user(Role.ADMIN)
    assert duplicates.confirm_distinct(admin, [(b.id, a.id)], context="test") == 1
    assert duplicates.confirm_distinct(admin, [(a.id, b.id)]) == 0  # stored once, in either order
    c.deleted_at = datetime(2025, 1, 1)
    db.session.commit()
    assert duplicates.all_duplicates(admin) == []
    stored = db.session.scalars(select(DistinctCasePair)).one()
    assert (stored.case_id, stored.other_case_id, stored.confirmed_by_id) == (min(a.id, b.id), max(a.id, b.id),
                                                                              admin.id)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.table_name == "distinct_case_pairs")).one()
    assert (entry.action, entry.user_id, entry.row_id, entry.context) == ("confirm_distinct", admin.id, stored.id,
                                                                          "test")


def test_the_admin_report_can_keep_only_pairs_across_federations(two_federations, make_user):
    _, _, a, b, c = two_federations
    admin = make_user(Role.ADMIN)
    assert {(p.case.ref, p.other.ref) for p in duplicates.all_duplicates(admin)} == {("A", "B"), ("A", "C")}
    [across] = duplicates.all_duplicates(admin, across_only=True)
    assert {across.case.ref, across.other.ref} == {"A", "C"} and across.across_federations


def test_staff_get_their_pairs_with_their_case_first_and_nothing_of_other_federations(two_federations, make_user):
    fr, be, a, b, c = two_federations
    staff_be = make_user(Role.STAFF, federation=be)
    [pair] = duplicates.all_duplicates(staff_be)
    assert pair.case.ref == "C" and pair.other.ref == "A"
    assert duplicates.visible_to(staff_be, pair.case) and not duplicates.visible_to(staff_be, pair.other)
    assert duplicates.needs_confirmation(staff_be, [pair]) == []
    assert duplicates.all_duplicates(make_user(Role.RESEARCHER)) == []


def test_confirm_pair_checks_who_may_see_both_cases(two_federations, make_user):
    fr, be, a, b, c = two_federations
    staff_fr = make_user(Role.STAFF, federation=fr)
    assert duplicates.confirm_pair(staff_fr, a.id, b.id) is True
    with pytest.raises(NotFound):
        duplicates.confirm_pair(staff_fr, a.id, c.id)  # the other federation's case is not disclosed
    with pytest.raises(NotFound):
        duplicates.confirm_pair(staff_fr, a.id, 999_999)
    with pytest.raises(PermissionDenied):
        duplicates.confirm_pair(make_user(Role.RESEARCHER), a.id, b.id)
    assert db.session.scalar(select(func.count()).select_from(DistinctCasePair)) == 1


def test_a_case_pages_national_id_lookup_reads_only_the_ids_that_may_match(make_federation, make_case, monkeypatch):
    """The lookup filters in the database; Python normalises only the candidates. "_" is one of the
    separators, and unescaped in LIKE it matched every id of the country."""
    fed = make_federation(code="FR-N", country="FR")
    for i in range(30):
        make_case(federation=fed, ref=f"N-{i}", name=f"Entreprise {i}", national_id=f"FR{400000000 + i}",
                  transfer_date=date(2001 + i % 20, 1, 1))
    make_case(federation=fed, ref="N-SEP", name="Autre", national_id="FR 552_100.554", transfer_date=date(1999, 1, 1))
    normalised = []
    original = duplicates.national_id_key
    monkeypatch.setattr(duplicates, "national_id_key", lambda *a: normalised.append(a) or original(*a))
    pairs = duplicates.duplicates_of(identity("NEW", "Sans rapport", national_id="552100554", year=2030))
    assert [(p.other.ref, p.reasons) for p in pairs] == [("N-SEP", ("same national id",))]
    assert len(normalised) <= 4  # the new case and the one id with separators (each twice), not all 31
