"""One attempt of a webhook delivery: a signed POST, and what to do next.

Plain ``urllib`` (no new dependency): a worker thread sends one request at a time. The timeout
bounds the connect and each read of the answer. Redirects are not followed: the configured URL
is the receiver, a 3xx is a configuration problem (and following one could lead the signed
body anywhere).
"""

from __future__ import annotations

import http.client
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from enum import StrEnum
from typing import IO, Any

from callcenter.crm.config import Webhook
from callcenter.crm.signing import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

__all__ = ["USER_AGENT", "Attempt", "Delivery", "Outcome", "backoff", "post"]

USER_AGENT = "callcenter-webhooks/1"
# What is read of an answer (nobody looks at it; reading lets the connection close cleanly).
_ANSWER_BYTES = 65_536


@dataclass(frozen=True)
class Delivery:
    """One event for one receiver, as the delivery task gets it. The secret is not here: it is
    looked up in the center file at each attempt, so that it never sits in the broker."""

    tenant: str
    url: str
    event: str
    delivery_id: str
    body: str  # the JSON text, sent and signed as UTF-8 bytes

    def args(self) -> list[str]:
        return [self.tenant, self.url, self.event, self.delivery_id, self.body]


class Outcome(StrEnum):
    DELIVERED = "delivered"  # 2xx
    RETRY = "retry"  # network error, timeout, 408, 429, 5xx: worth another attempt
    FAILED = "failed"  # any other answer: the receiver refuses it; trying again won't help


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    status: int | None  # the HTTP status, None when no answer came
    detail: str = ""
    retry_after: float | None = None  # seconds, from the receiver's Retry-After


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None  # urllib then raises HTTPError with the 3xx status


_OPENER = urllib.request.build_opener(_NoRedirect())


def _retry_after(headers: Message | None) -> float | None:
    value = (headers.get("Retry-After") if headers is not None else None) or ""
    value = value.strip()
    return float(value) if value.isdigit() else None  # the HTTP-date form is not worth parsing


def _judge(status: int, headers: Message | None) -> Attempt:
    if 200 <= status < 300:
        return Attempt(Outcome.DELIVERED, status)
    if status in (408, 429) or status >= 500:
        return Attempt(Outcome.RETRY, status, f"HTTP {status}", _retry_after(headers))
    if 300 <= status < 400:
        return Attempt(Outcome.FAILED, status, f"HTTP {status}: redirects are not followed")
    return Attempt(Outcome.FAILED, status, f"HTTP {status}")


def post(delivery: Delivery, webhook: Webhook, *, now: Callable[[], float] = time.time) -> Attempt:
    """Send the delivery once; never raises for what the network or the receiver does."""
    body = delivery.body.encode("utf-8")
    timestamp = int(now())
    headers = {
        **webhook.headers,
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        EVENT_HEADER: delivery.event,
        DELIVERY_HEADER: delivery.delivery_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: sign(webhook.secret, timestamp, body),
    }
    request = urllib.request.Request(delivery.url, data=body, headers=headers, method="POST")
    try:
        answer: Any = _OPENER.open(request, timeout=webhook.timeout_seconds)
        with answer:
            answer.read(_ANSWER_BYTES)
            return _judge(answer.status, answer.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            return _judge(exc.code, exc.headers)
    except TimeoutError:
        return Attempt(Outcome.RETRY, None, f"timeout after {webhook.timeout_seconds}s")
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            return Attempt(Outcome.RETRY, None, f"timeout after {webhook.timeout_seconds}s")
        return Attempt(Outcome.RETRY, None, f"network error: {reason}")
    except (OSError, http.client.HTTPException) as exc:
        return Attempt(Outcome.RETRY, None, f"network error: {type(exc).__name__}: {exc}")


def backoff(
    attempt: int,
    webhook: Webhook,
    retry_after: float | None = None,
    *,
    rand: Callable[[], float] = random.random,
) -> float:
    """Seconds before attempt ``attempt + 1``: the base doubled per attempt, capped, with
    jitter (between half and all of it, so that receivers coming back are not hit by every
    delivery at once), and no sooner than the receiver's Retry-After (capped too)."""
    cap = webhook.retry_backoff_max_seconds
    delay = min(cap, webhook.retry_backoff_seconds * float(2 ** max(0, attempt - 1)))
    delay = delay / 2 + rand() * delay / 2
    if retry_after is not None:
        delay = max(delay, min(retry_after, cap))
    return delay
