"""Reports over HTTP against the real server: supervisors and admins only, their own tenant
only, each format read back, and bad input as 422/404 that say what to fix."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import aiohttp
import openpyxl
import pytest
from pypdf import PdfReader

from tests.api.conftest import PASSWORD, Api, Client
from tests.reports.sample import NAME, TITLE, registered


@pytest.fixture(autouse=True)
def sample() -> Iterator[None]:
    with registered():
        yield


def path(api: Api, tail: str = "", tenant: str | None = None) -> str:
    return f"/api/v1/tenants/{tenant or api.acme}/reports{tail}"


async def download(api: Api, login: str, url: str) -> tuple[int, str, bytes, str]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.post(api.url + "/api/v1/session",
                                json={"login": login, "password": PASSWORD}) as signed:  # fmt: skip
            assert signed.status == 200
        async with session.get(api.url + url) as response:
            return (response.status, response.content_type, await response.read(),
                    response.headers.get("Content-Disposition", ""))  # fmt: skip


async def test_roles_and_tenants(api: Api, client: Client) -> None:
    status, body = await client.request("GET", path(api))
    assert status == 401
    await client.sign_in("alice")  # an agent
    status, body = await client.request("GET", path(api, f"/{NAME}"))
    assert status == 403 and body["details"]["needs"] == "supervisor"
    status, body = await client.request("GET", path(api))
    assert status == 403
    sue = api.client()
    try:
        await sue.sign_in("sue")
        status, body = await sue.request("GET", path(api))
        assert status == 200
        info = {
            "name": NAME,
            "title": TITLE,
            "description": "Calls per agent (a test's own report)",
        }
        assert info in body["reports"]
        status, body = await sue.request("GET", path(api, tenant=api.globex))
        assert status == 403 and "no role in tenant" in body["message"]
        status, body = await sue.request("GET", path(api, f"/{NAME}", tenant="nosuch"))
        assert status == 404 and body["error_id"] == "unknown-tenant"
    finally:
        await sue.close()


async def test_json_report_in_the_tenants_zone(api: Api, client: Client) -> None:
    await client.sign_in("ada")  # an admin can too
    query = "?from=2026-03-01&to=2026-03-07&tz=Europe/Moscow&granularity=day&agent=1001"
    status, body = await client.request("GET", path(api, f"/{NAME}{query}"))
    assert status == 200, body
    assert body["title"] == TITLE
    assert body["request"]["start"] == "2026-02-28T21:00:00Z"
    assert body["request"]["agents"] == ["1001"] and body["request"]["granularity"] == "day"
    assert [row["agent"] for row in body["rows"]] == ["1001"]
    assert body["charts"][0]["x_labels"] == ["1001"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "pdf"])
async def test_each_file_format(api: Api, fmt: str) -> None:
    status, content_type, body, disposition = await download(
        api, "sue", path(api, f"/{NAME}?from=2026-03-01&format={fmt}")
    )
    assert status == 200
    assert f'filename="sample-agents-{api.acme}-2026-03-01.{fmt}"' in disposition
    if fmt == "csv":
        assert content_type == "text/csv"
        rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
        assert rows[1][:2] == ["1001", "Anna Ivanova"] and rows[-1][0] == "Total"
    elif fmt == "xlsx":
        assert content_type.endswith("spreadsheetml.sheet")
        sheet = openpyxl.load_workbook(io.BytesIO(body))[NAME]
        assert sheet["B3"].value == "Борис Петров"
    else:
        assert content_type == "application/pdf"
        assert TITLE in PdfReader(io.BytesIO(body)).pages[0].extract_text()


@pytest.mark.parametrize(
    ("query", "status", "error_id", "says"),
    [
        ("?from=2026-03-07&to=2026-03-01", 422, "invalid-period", "(2026-03-07): swap them"),
        ("?from=2026-03-01&tz=Mars/Base", 422, "invalid-period", "'Mars/Base' does not exist"),
        ("?from=March", 422, "invalid-period", "'March' is not a date"),
        ("?granularity=fortnight", 422, "invalid-period", "granularity 'fortnight' is not one"),
        ("?format=docx", 422, "invalid-input", "format"),
        ("?queue=sales,vip", 404, "unknown-name", "has no queue 'vip' (queues there: sales"),
        ("?agent=9999", 404, "unknown-name", "has no agent '9999' (agents there: 1001, 1002)"),
    ],
)
async def test_bad_input_says_what_to_fix(
    api: Api, client: Client, query: str, status: int, error_id: str, says: str
) -> None:
    await client.sign_in("sue")
    got, body = await client.request("GET", path(api, f"/{NAME}{query}"))
    assert (got, body["error_id"]) == (status, error_id), body
    assert says in body["message"]


async def test_an_unknown_report_is_404_naming_the_others(api: Api, client: Client) -> None:
    await client.sign_in("sue")
    status, body = await client.request("GET", path(api, "/nosuch"))
    assert status == 404 and body["error_id"] == "unknown-report"
    assert NAME in body["message"]


async def test_report_options_reach_the_report_and_bad_ones_say_why(
    api: Api, client: Client
) -> None:
    from urllib.parse import quote

    await client.sign_in("sue")
    asked = quote('{"sl_seconds": 30, "conversion_codes": ["sale"]}')
    status, body = await client.request("GET", path(api, f"/{NAME}?options={asked}"))
    assert status == 200, body
    assert body["request"]["options"] == {"sl_seconds": 30, "conversion_codes": ["sale"]}
    for bad, words in (("{not json", "not a JSON object"), ("[1, 2]", "a JSON object is"),
                       ('{"center": "/etc/passwd"}', "cannot be given"),
                       ('{"rates": {"gw1": "/etc/passwd"}}', "a file on the server")):  # fmt: skip
        status, body = await client.request("GET", path(api, f"/{NAME}?options={quote(bad)}"))
        assert (status, body["error_id"]) == (422, "invalid-report-input"), body
        assert words in body["message"]


async def test_the_center_reaches_the_report_and_is_not_echoed(api: Api, client: Client) -> None:
    """The trunks and tariffs reports need the gateways' limits and rate tables: the API hands
    them its center, never a path from the request, and does not show it back."""
    from callcenter.center.tenant import Center

    await client.sign_in("sue")
    status, body = await client.request("GET", path(api, f"/{NAME}"))
    assert status == 200 and "center: given" not in body["notes"]  # the fixture has none
    before = api.ctx.center
    api.ctx.center = Center.model_validate(
        {"tenants": [{"name": api.acme, "domain": "acme.example.com"}]}
    )
    try:
        status, body = await client.request("GET", path(api, f"/{NAME}"))
    finally:
        api.ctx.center = before
    assert status == 200, body
    assert "center: given" in body["notes"]
    assert "center" not in body["request"]["options"]
