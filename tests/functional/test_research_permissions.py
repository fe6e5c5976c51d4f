"""Who sees what in the survival explorer: a staff user never sees another federation's curves,
numbers or cases, whatever the parameters; researchers never see contact fields."""

from __future__ import annotations

import csv
import io
import re
from datetime import date

import pytest
from support_research import expected, load_oracle, page_numbers

from tracker import vocabulary
from tracker.models import Role, TransferType

MINE = 12  # enough cases for a figure


@pytest.fixture
def staff(client, login, app, make_federation, make_case):
    load_oracle(make_federation)  # federation ORACLE: 600 cases in FR, IT, BE, ES...
    mine = make_federation(code="MINE", country="IT")
    for i in range(MINE):
        make_case(mine, ref=f"MINE-{i:02d}", country="IT", transfer_type=TransferType.RESCUE,
                  transfer_date=date(2012, 5, 1), registered_on=date(2012, 5, 1),
                  last_verified_on=date(2016 + i % 8, 1, 1), contact_email=f"boss{i}@mine.example")
    login(Role.STAFF, federation=mine)
    return client


PROBES = [
    "", "federation=ORACLE", "where=federation=ORACLE", "group_by=federation",
    "group_by=federation&where=federation=ORACLE,MINE", "country=FR", "group_by=country",
    "group_by=transfer_type&transfer_type=succession",
]


@pytest.mark.parametrize("probe", PROBES)
def test_staff_see_only_their_federation_on_the_page(staff, probe):
    response = staff.get(f"/research/?as_of=2025-12-31&{probe}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    groups, _ = page_numbers(html)
    assert sum(int(g["n"]) for g in groups.values()) <= MINE
    assert set(groups) <= {"all", "MINE", "IT", "rescue"}
    assert "ORACLE —" not in html  # no other federation offered in the form
    assert not re.search(r"C231-\d+", html)


@pytest.mark.parametrize("probe", PROBES)
def test_staff_downloads_hold_only_their_federation(staff, probe):
    query = f"as_of=2025-12-31&{probe}"
    def rows(path: str) -> list[dict[str, str]]:
        return list(csv.DictReader(io.StringIO(staff.get(f"/research/{path}?{query}").get_data().decode("utf-8-sig"))))

    horizons = rows("horizons.csv")
    assert sum({r["group"]: int(r["n"]) for r in horizons}.values()) <= MINE
    steps = rows("steps.csv")
    assert {r["group"] for r in steps} <= {"all", "MINE", "IT", "rescue"}
    assert sum(int(r["events"]) + int(r["censored"]) for r in steps) <= MINE
    svg = staff.get(f"/research/figure/km.svg?{query}")
    if svg.status_code == 200:
        assert "ORACLE" not in svg.get_data(as_text=True) and "n = 12" in svg.get_data(as_text=True)
    else:
        assert svg.status_code == 404  # nothing of theirs to draw


@pytest.mark.parametrize("probe", [
    "", "group_by=federation&group=ORACLE", "where=federation=ORACLE", "federation=ORACLE",
    "group_by=country&group=FR", "group_by=transfer_type&group=succession", "group_by=federation&group=MINE",
])
def test_staff_case_lists_hold_only_their_cases(staff, probe):
    response = staff.get(f"/research/cases?as_of=2025-12-31&{probe}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    refs = re.findall(r'<a href="/cases/\d+">([^<]+)</a>', html)
    assert all(ref.startswith("MINE-") for ref in refs)
    assert not re.search(r"C231-\d+", html)


def test_the_group_links_lead_to_their_own_cases(staff):
    html = staff.get("/research/?as_of=2025-12-31&group_by=federation").get_data(as_text=True)
    link = re.search(r'href="(/research/cases\?[^"]+)">its cases', html).group(1).replace("&amp;", "&")
    assert "group=MINE" in link
    listed = staff.get(link).get_data(as_text=True)
    assert len(re.findall(r'<a href="/cases/\d+">MINE-\d+</a>', listed)) == MINE


def test_researchers_case_lists_show_no_contact_fields(client, login, app, make_federation, make_case):
    fed = make_federation(code="CONTACTS")
    make_case(fed, contact_name="Jeanne Martin", contact_email="jeanne@coop.example", contact_phone="+33 1 23")
    login(Role.RESEARCHER)
    html = client.get("/research/cases?as_of=2025-12-31").get_data(as_text=True)
    assert "Jeanne" not in html and "jeanne@coop.example" not in html and "+33 1 23" not in html


def test_a_groups_case_list_is_the_group_the_table_counts(client, login, app, make_federation):
    load_oracle(make_federation)
    login(Role.RESEARCHER)
    exp = expected("expected_by_transfer_type.json")
    for group in exp["groups"]:
        html = client.get(f"/research/cases?as_of=2025-12-31&group_by=transfer_type&group={group['group']}"
                          ).get_data(as_text=True)
        included = int(re.search(r'data-field="included" data-value="(\d+)"', html).group(1))
        assert included == group["n"]
        label = vocabulary.TRANSFER_TYPES[group["group"]]
        names = "|".join(map(re.escape, vocabulary.TRANSFER_TYPES.values()))
        types = re.findall(r"<td[^>]*>(" + names + ")</td>", html)
        assert types and set(types) == {label}
