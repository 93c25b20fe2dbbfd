"""One delivery attempt against a real HTTP receiver: the request it makes, and how each kind
of answer is judged (delivered, worth retrying, refused for good); the backoff between tries."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from callcenter.crm import CrmConfig, Webhook
from tests.crm.receiver import Answer, Receiver, running_receiver
from workers.webhooks.delivery import USER_AGENT, Attempt, Delivery, Outcome, backoff, post

SECRET = "s3cret-0123456789abcdef"


@pytest.fixture
async def crm() -> AsyncIterator[Receiver]:
    async with running_receiver() as receiver:
        yield receiver


def webhook(url: str, **extra: object) -> Webhook:
    hook = {"url": url, "secret": SECRET, "events": ["ended"], "timeout_seconds": 0.5, **extra}
    return CrmConfig.model_validate({"webhooks": [hook]}).webhooks[0]


def delivery(url: str) -> Delivery:
    return Delivery("acme", url, "ended", "d-1", '{"event":"ended","caller_name":"Иван"}')


async def attempt(url: str, **extra: object) -> Attempt:
    return await asyncio.to_thread(post, delivery(url), webhook(url, **extra))


async def test_a_delivery_is_a_signed_post(crm: Receiver) -> None:
    url = crm.script("/hook", Answer(status=204, body=""))
    result = await attempt(url, headers={"Authorization": "Basic dXNlcjpwdw=="})
    assert result == Attempt(Outcome.DELIVERED, 204)
    (request,) = crm.requests
    assert request.method == "POST" and request.verifies(SECRET)
    assert request.body == '{"event":"ended","caller_name":"Иван"}'.encode()
    assert (request.event, request.delivery) == ("ended", "d-1")
    assert request.headers["User-Agent"] == USER_AGENT
    assert request.headers["Authorization"] == "Basic dXNlcjpwdw=="


@pytest.mark.parametrize(
    ("answer", "outcome"),
    [
        (Answer(status=500), Outcome.RETRY),
        (Answer(status=503), Outcome.RETRY),
        (Answer(status=408), Outcome.RETRY),
        (Answer(status=429), Outcome.RETRY),
        (Answer(status=400), Outcome.FAILED),
        (Answer(status=401), Outcome.FAILED),
        (Answer(status=404), Outcome.FAILED),
        (Answer(status=301), Outcome.FAILED),
        (Answer(delay=2), Outcome.RETRY),
    ],
    ids=["500", "503", "408", "429", "400", "401", "404", "301", "timeout"],
)
async def test_answers_are_judged(crm: Receiver, answer: Answer, outcome: Outcome) -> None:
    result = await attempt(crm.script("/hook", answer))
    assert result.outcome is outcome
    assert len(crm.requests) == 1  # a redirect is not followed


async def test_retry_after_is_kept(crm: Receiver) -> None:
    # A 429 with Retry-After, the way rate-limited CRMs answer.
    url = crm.script("/busy", Answer(status=429, headers=(("Retry-After", "7"),)))
    result = await attempt(url)
    assert (result.outcome, result.status, result.retry_after) == (Outcome.RETRY, 429, 7.0)


async def test_a_receiver_that_is_down_is_retried() -> None:
    result = await attempt("http://127.0.0.1:9/hook")
    assert result.outcome is Outcome.RETRY and result.status is None
    assert result.detail.startswith("network error")


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    hook = webhook("https://x.example.com/", retry_backoff_seconds=10, retry_backoff_max_seconds=60)
    assert [backoff(n, hook, rand=lambda: 1.0) for n in (1, 2, 3, 4, 5)] == [10, 20, 40, 60, 60]
    assert [backoff(n, hook, rand=lambda: 0.0) for n in (1, 2, 3)] == [5, 10, 20]
    assert backoff(1, hook, 30, rand=lambda: 0.0) == 30  # the receiver's Retry-After
    assert backoff(1, hook, 3600, rand=lambda: 0.0) == 60  # capped all the same
