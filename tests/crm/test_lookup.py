"""The contact lookup against a real HTTP server playing the CRM: a card when it answers one,
None (never an exception) when it is slow, broken, says nothing, or is not configured."""

from __future__ import annotations

import json
import time

import aiohttp
import pytest

from callcenter.crm import CrmCard, CrmConfig, lookup_card
from tests.crm.receiver import Answer, Receiver

ZOHO_LIKE = {
    "data": [
        {
            "Full_Name": "Ivan Petrov",
            "Account_Name": {"name": "Romashka LLC", "id": "42"},
            "Email": "ivan@romashka.example",
            "Description": "VIP, prefers mornings",
            "id": 4150868000000224005,
        }
    ],
    "info": {"count": 1},
}


def config(receiver: Receiver, path: str = "/search", **lookup: object) -> CrmConfig:
    return CrmConfig.model_validate(
        {
            "lookup": {
                "url": receiver.url(path) + "?phone={caller}",
                "timeout_seconds": 0.5,
                "headers": {"Authorization": "Zoho-oauthtoken abc"},
                "fields": {
                    "name": "data.0.Full_Name",
                    "company": "data.0.Account_Name.name",
                    "email": "data.0.Email",
                    "notes": "data.0.Description",
                    "url": "data.0.Missing",
                },
                **lookup,
            }
        }
    )


async def test_a_card_is_mapped_from_the_answer(receiver: Receiver) -> None:
    receiver.script("/search", Answer(body=json.dumps(ZOHO_LIKE)))
    card = await lookup_card(config(receiver), "+79161234567")
    assert card == CrmCard(
        name="Ivan Petrov",
        company="Romashka LLC",
        email="ivan@romashka.example",
        notes="VIP, prefers mornings",
        url=None,
    )
    (request,) = receiver.requests
    assert request.method == "GET" and request.query == {"phone": "+79161234567"}
    assert request.headers["Authorization"] == "Zoho-oauthtoken abc"


async def test_the_api_can_lend_its_own_session(receiver: Receiver) -> None:
    receiver.script("/search", Answer(body=json.dumps(ZOHO_LIKE)))
    async with aiohttp.ClientSession() as session:
        card = await lookup_card(config(receiver), "100", session=session)
    assert card is not None and card.name == "Ivan Petrov"


async def test_a_slow_crm_gives_no_card_within_the_timeout(receiver: Receiver) -> None:
    receiver.script("/search", Answer(delay=3, body=json.dumps(ZOHO_LIKE)))
    started = time.monotonic()
    assert await lookup_card(config(receiver), "100") is None
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    "answer",
    [
        Answer(body="<html>oops</html>", content_type="text/html"),
        Answer(body='{"data": [', content_type="application/json"),
        Answer(status=404, body='{"error": "not found"}'),
        Answer(status=204, body=""),
        Answer(status=500, body="{}"),
        Answer(status=302, body=""),
        Answer(body='{"data": []}'),  # the CRM found nobody
        Answer(body='{"data": [{"Full_Name": {"first": "x"}}]}'),  # a mapping that is wrong
    ],
    ids=["html", "broken-json", "404", "204", "500", "redirect", "empty", "object"],
)
async def test_no_card_from_what_is_not_one(receiver: Receiver, answer: Answer) -> None:
    receiver.script("/search", answer)
    assert await lookup_card(config(receiver), "100") is None
    assert len(receiver.requests) == 1


async def test_a_crm_that_is_down_gives_no_card() -> None:
    crm = CrmConfig.model_validate(
        {"lookup": {"url": "http://127.0.0.1:9/?p={caller}", "fields": {"name": "name"}}}
    )
    assert await lookup_card(crm, "100") is None


async def test_nothing_is_asked_without_a_lookup_or_a_number(receiver: Receiver) -> None:
    assert await lookup_card(None, "100") is None
    assert await lookup_card(CrmConfig(), "100") is None
    assert await lookup_card(config(receiver), "") is None
    assert receiver.requests == []


async def test_the_number_cannot_change_the_query(receiver: Receiver) -> None:
    receiver.script("/search", Answer(body=json.dumps(ZOHO_LIKE)))
    await lookup_card(config(receiver), "100&admin=1")
    assert receiver.requests[0].query == {"phone": "100&admin=1"}
