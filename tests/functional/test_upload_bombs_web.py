"""The upload page answers the small-but-enormous workbooks with their message (the readers'
bounds are tested in tests/integration/test_upload_bombs.py)."""

from __future__ import annotations

import pytest
from support_import import upload, written

from tests.integration.support_workbooks import header_and_case, workbook
from tracker.models import Role


@pytest.fixture(autouse=True)
def staging_dir(app, tmp_path):
    app.config["IMPORT_STAGING_DIR"] = str(tmp_path / "staging")




def test_a_workbook_with_values_in_column_xfd_is_refused_on_the_page(client, login, make_federation):
    fed = make_federation(code="FR-B", country="FR")
    login(Role.STAFF, federation=fed)
    data = workbook(b"".join(b'<row r="%d"><c r="XFD%d"><v>1</v></c></row>' % (i, i) for i in range(1, 2001)))
    response = upload(client, data, filename="cases.xlsx")
    html = client.get(response.headers["Location"]).get_data(as_text=True) if response.status_code == 303 \
        else response.get_data(as_text=True)
    assert "row 1 has a value in column XFD; the import reads only columns A to AF" in html
    assert written() == (0, 0, 0, 0)


def test_a_workbook_declaring_the_whole_sheet_is_checked_as_its_one_case(client, login, make_federation):
    fed = make_federation(code="FR-D", country="FR")
    login(Role.STAFF, federation=fed)
    data = workbook(header_and_case(), before=b'<dimension ref="A1:XFD1048576"/>')
    response = upload(client, data, filename="cases.xlsx")
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    assert response.status_code == 303 and "The file passes every check" in html and "1 case row read" in html
    assert written() == (0, 0, 0, 0)
