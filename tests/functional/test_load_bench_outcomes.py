"""The load test counts a follow-up as recorded only when the app answers as it does for one: a
redirect to the case's page. The app's real answers to a recorded, a refused and a logged-out
write are judged here, so the bench cannot count a failure as a success again."""

from __future__ import annotations

import pytest

from bench.load import write_failure
from tracker.models import Role


@pytest.fixture
def staff_case(make_federation, make_case, login):
    fed = make_federation(code="FR-LOAD")
    case = make_case(federation=fed, name="Scierie du Plateau")
    login(Role.STAFF, federation=fed)
    return case


def post(client, case, **fields: str) -> str | None:  # noqa: ANN001
    data = {"followup-outcome": "operating", "followup-checked_on": "2025-12-31", "followup-source": "load test",
            "followup-version": str(case.version), **fields}
    response = client.post(f"/cases/{case.id}/follow-up", data=data)
    return write_failure(case.id, response.status_code, response.headers.get("Location", ""),
                         response.get_data(as_text=True))


def test_a_recorded_follow_up_is_a_success(client, staff_case):
    assert post(client, staff_case) is None


def test_a_refused_form_is_an_error_with_its_message(client, staff_case):
    failure = post(client, staff_case, **{"followup-checked_on": ""})
    assert failure is not None and failure.startswith("form shown again")


def test_a_stale_version_is_an_error(client, staff_case):
    stale = {"followup-version": str(staff_case.version + 5)}
    assert post(client, staff_case, **stale) == "409 refused: edited meanwhile"


def test_a_write_sent_to_the_login_page_is_an_error(client, staff_case):
    client.post("/logout")
    client.get("/logout")
    assert post(client, staff_case) == "redirected to the login page"
