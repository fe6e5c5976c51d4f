"""The case list's case-work filters: NACE section, size class, region, legal form and "not
verified since"; the country filter offers the countries present (hidden when all are in one);
active filters are chips that remove themselves."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

from tracker.models import Role


def listed(html: str) -> set[str]:
    return set(re.findall(r'href="/cases/\d+"[^>]*>([A-Z0-9-]+)</a>', html))


def test_each_filter_narrows_the_list(client, login, make_federation, make_case):
    fed = make_federation(country="FR")
    make_case(federation=fed, ref="SMALL-C", nace="25.62", nace_section="C", employees=5, region="FRK",
              legal_form="SCOP SA", last_verified_on=date(2020, 1, 1))
    make_case(federation=fed, ref="BIG-F", nace="41.20", nace_section="F", employees=300, region="FR-IDF",
              legal_form="SCIC", last_verified_on=date.today())
    make_case(federation=fed, ref="NONE", nace=None, nace_section=None, employees=None, region=None,
              legal_form=None, last_verified_on=date(2019, 5, 1), exit_date=date(2021, 1, 1), exit_reason="sold")
    login(Role.STAFF, federation=fed)
    for query, refs in (("nace_section=C", {"SMALL-C"}), ("size_class=250%2B", {"BIG-F"}),
                        ("size_class=unknown", {"NONE"}), ("region=frk", {"SMALL-C"}),
                        ("legal_form=scic", {"BIG-F"}), ("not_verified_since=2022-01-01", {"SMALL-C"})):
        assert listed(client.get(f"/cases/?{query}").get_data(as_text=True)) == refs, query


def test_active_filters_are_chips_that_remove_themselves(client, login, make_federation, make_case):
    fed = make_federation(country="FR")
    make_case(federation=fed, ref="A-1", nace_section="C", employees=5)
    login(Role.STAFF, federation=fed)
    html = client.get("/cases/?nace_section=C&size_class=0-9").get_data(as_text=True)
    chips = html[html.index('id="active-filters"'):html.index("</ul>", html.index('id="active-filters"'))]
    text = unescape(re.sub(r"<[^>]+>", "", chips))
    assert "NACE section: C · Manufacturing" in text and "Size class: 0–9 employees" in text
    removes = [unescape(h) for h in re.findall(r'href="([^"]+)"', chips)]
    assert "/cases/?size_class=0-9" in removes and "/cases/?nace_section=C" in removes


def test_the_country_filter_offers_the_countries_present_and_hides_when_only_one(client, login,
                                                                                 make_federation, make_case):
    fr, it = make_federation(country="FR"), make_federation(country="IT")
    make_case(federation=fr, ref="F-1")
    make_case(federation=it, ref="I-1", country="IT")
    login(Role.ADMIN)
    html = client.get("/cases/").get_data(as_text=True)
    countries = re.findall(r'<option value="([A-Z]{2})">', html[html.index('id="country"'):][:3000])
    assert countries == ["FR", "IT"]
    login(Role.STAFF, federation=fr)
    assert 'id="country"' not in client.get("/cases/").get_data(as_text=True)
