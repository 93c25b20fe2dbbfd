"""The phone book and the screen-pop over HTTP: search and cards, CSV/XLSX import with a
per-row report and nothing half-imported, and who is calling (phone book, then the CRM)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import openpyxl
import pytest
from aiohttp import web

from callcenter.acd.model import WaitingCall
from callcenter.center.tenant import Center
from tests.api.conftest import Api, Client, http_site


async def _add(client: Client, api: Api, phone: str, name: str, **extra: str) -> dict[str, object]:
    status, body = await client.request(
        "POST", f"/api/v1/tenants/{api.acme}/contacts", {"phone": phone, "name": name, **extra}
    )
    assert status == 201, body
    return dict(body)


async def test_cards_are_added_found_changed_and_removed(api: Api, client: Client) -> None:
    await client.sign_in("alice")
    card = await _add(client, api, "+7 (495) 123-45-67", "Ivan Petrov", company="Romashka")
    assert card["phone"] == "+74951234567"
    base = f"/api/v1/tenants/{api.acme}/contacts"
    for q in ("ivan", "ROMASHKA", "495 123"):
        status, body = await client.request("GET", f"{base}?q={q}")
        assert (status, [c["name"] for c in body["items"]]) == (200, ["Ivan Petrov"]), q
    status, body = await client.request("PATCH", f"{base}/{card['id']}", {"company": None})
    assert (status, body["company"], body["name"]) == (200, None, "Ivan Petrov")
    status, body = await client.request("POST", base, {"phone": "74951234567", "name": "Dup"})
    assert (status, body["error_id"]) == (409, "phone-taken")
    status, body = await client.request("POST", base, {"phone": "12", "name": "Short"})
    assert (status, body["error_id"]) == (422, "invalid-contact")
    # Removing is for supervisors.
    status, body = await client.request("DELETE", f"{base}/{card['id']}")
    assert (status, body["error_id"]) == (403, "forbidden")
    await client.sign_in("sue")
    assert (await client.request("DELETE", f"{base}/{card['id']}"))[0] == 204
    status, body = await client.request("GET", f"{base}/{card['id']}")
    assert (status, body["error_id"]) == (404, "contact-not-found")


async def test_another_tenants_phone_book_stays_apart(api: Api, client: Client) -> None:
    await client.sign_in("alice")
    card = await _add(client, api, "+15550001111", "Acme Customer")
    await client.sign_in("gary")
    status, body = await client.request("GET", f"/api/v1/tenants/{api.globex}/contacts?q=acme")
    assert (status, body["total"]) == (200, 0)
    status, _ = await client.request("GET", f"/api/v1/tenants/{api.globex}/contacts/{card['id']}")
    assert status == 404
    status, _ = await client.request("GET", f"/api/v1/tenants/{api.acme}/contacts")
    assert status == 403


async def _upload(
    client: Client, api: Api, data: bytes, filename: str, mode: str = "create"
) -> tuple[int, Any]:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename)
    status, body = await client.request(
        "POST", f"/api/v1/tenants/{api.acme}/contacts/import?mode={mode}", data=form
    )
    return status, body


async def test_a_csv_with_a_bad_row_imports_nothing_and_says_where(
    api: Api, client: Client
) -> None:
    await client.sign_in("sue")
    csv = "Name;Phone;Company\nAnna;+7 495 000 00 01;A\nBoris;not a phone;B\nClara;84950000003;C\n"
    status, body = await _upload(client, api, csv.encode("cp1251"), "book.csv")
    assert (status, body["error_id"]) == (422, "import-rows-invalid")
    [error] = body["details"]["errors"]
    assert (error["row"], error["column"]) == (3, "Phone")
    status, page = await client.request("GET", f"/api/v1/tenants/{api.acme}/contacts")
    assert page["total"] == 0


async def test_a_good_csv_and_an_xlsx_import_and_upsert(api: Api, client: Client) -> None:
    await client.sign_in("sue")
    csv = "phone,name\n+74950000001,Anna\n+74950000002,Boris\n"
    status, body = await _upload(client, api, csv.encode(), "book.csv")
    assert (status, body["created"], body["updated"]) == (200, 2, 0), body
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Телефон", "Имя"])
    sheet.append(["+74950000001", "Anna Smirnova"])
    sheet.append(["+74950000009", "Vera"])
    data = io.BytesIO()
    book.save(data)
    status, body = await _upload(client, api, data.getvalue(), "book.xlsx", mode="upsert")
    assert (status, body["created"], body["updated"], body["file_format"]) == (200, 1, 1, "xlsx")
    status, page = await client.request("GET", f"/api/v1/tenants/{api.acme}/contacts?q=anna")
    assert [c["name"] for c in page["items"]] == ["Anna Smirnova"]
    status, text = await client.request("GET", f"/api/v1/tenants/{api.acme}/contacts/export")
    assert status == 200 and "Vera" in text and "Anna Smirnova" in text


@pytest.mark.parametrize(
    ("data", "filename", "error_id"),
    [
        (b"", "empty.csv", "import-file-empty"),
        (b"PK\x03\x04 not really a zip", "book.xlsx", "import-file-unreadable"),
        (b"just,some\nwords,here\n", "book.csv", "import-columns-invalid"),
    ],
)
async def test_broken_files_get_a_clear_error(
    api: Api, client: Client, data: bytes, filename: str, error_id: str
) -> None:
    await client.sign_in("sue")
    status, body = await _upload(client, api, data, filename)
    assert status in (400, 415, 422), body
    assert body["error_id"] == error_id, body
    assert body["message"]


async def test_agents_cannot_import(api: Api, client: Client) -> None:
    await client.sign_in("alice")
    status, body = await _upload(client, api, b"phone,name\n+74950000001,A\n", "b.csv")
    assert (status, body["error_id"]) == (403, "forbidden")


async def _ring(api: Api, call: str, number: str, agent: str, did: str = "") -> None:
    store = api.ctx.store(api.acme)
    await store.enqueue(WaitingCall(call, "sales", caller_number=number, caller_name="WIRELESS",
                                    did=did, campaign="radio" if did else ""))  # fmt: skip
    await store.login(agent)
    await store.ready(agent)
    assert await store.reserve("sales") is not None


async def test_screen_pop_shows_the_phone_book_card_to_the_agent_rung(
    api: Api, client: Client
) -> None:
    await client.sign_in("sue")
    await _add(client, api, "+74951234567", "Ivan Petrov", company="Romashka")
    # The national form of the same number, dialing the radio advert's number.
    await _ring(api, "call-7", "84951234567", "1001", did="74957770000")
    await client.sign_in("alice")
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/screen-pop?call=call-7")
    assert status == 200, body
    assert body["card"] == {"name": "Ivan Petrov", "company": "Romashka", "email": None,
                            "notes": None, "source": "phonebook",
                            "contact_id": body["card"]["contact_id"]}  # fmt: skip
    assert (body["caller_number"], body["caller_name"], body["queue"]) == (
        "84951234567", "WIRELESS", "sales"
    )  # fmt: skip
    assert (body["did"], body["campaign"]) == ("74957770000", "radio")
    # bob was not rung: the call is not his to see.
    await client.sign_in("bob")
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/screen-pop?call=call-7")
    assert (status, body["error_id"]) == (403, "forbidden")
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/screen-pop?call=nope")
    assert (status, body["error_id"]) == (404, "unknown-call")


@pytest.fixture
async def crm_server() -> AsyncIterator[tuple[str, list[str]]]:
    asked: list[str] = []

    async def contacts(request: web.Request) -> web.Response:
        asked.append(request.query.get("phone", ""))
        if request.query.get("phone") == "+15557654321":
            return web.json_response({"data": [{"Full_Name": "Zoe Zoho", "Email": "z@x.io"}]})
        return web.Response(status=204)

    app = web.Application()
    app.router.add_get("/crm/v2/Contacts/search", contacts)
    async with http_site(app) as base:
        yield base, asked


async def test_screen_pop_asks_the_crm_when_the_phone_book_has_no_card(
    api: Api, client: Client, crm_server: tuple[str, list[str]]
) -> None:
    base, asked = crm_server
    api.ctx.center = Center.model_validate(
        {"tenants": [{"name": api.acme, "domain": "acme.example.com", "crm": {
            "screen_pop_url": "https://crm.example.com/search?q={caller}&call={call}&did={did}",
            "lookup": {"url": base + "/crm/v2/Contacts/search?phone={caller}",
                       "timeout_seconds": 2,
                       "fields": {"name": "data.0.Full_Name", "email": "data.0.Email"}}}}]}
    )  # fmt: skip
    await _ring(api, "call-8", "+15557654321", "1001", did="+15550001111")
    await client.sign_in("alice")
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/screen-pop?call=call-8")
    assert status == 200, body
    assert body["card"]["name"] == "Zoe Zoho"
    assert body["card"]["source"] == "crm"
    assert body["crm_url"] == (
        "https://crm.example.com/search?q=%2B15557654321&call=call-8&did=%2B15550001111"
    )
    assert asked == ["+15557654321"]
    # A number the CRM does not know: no card, the link still there.
    await _ring(api, "call-9", "+15550000000", "1002")
    await client.sign_in("bob")
    status, body = await client.request("GET", f"/api/v1/tenants/{api.acme}/screen-pop?call=call-9")
    assert (status, body["card"], body["did"]) == (200, None, "")
    assert body["crm_url"].startswith("https://crm.example.com/search?q=%2B15550000000")
