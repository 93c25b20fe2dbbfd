"""A tenant's CRM integration, as written under ``crm:`` in the center file::

    crm:
      webhooks:
        - url: https://crm.example.com/hooks/callcenter
          secret: 4f9c...            # at least 16 characters, shared with the receiver
          events: [ringing, answered, ended, disposition]
          timeout_seconds: 10
      screen_pop_url: https://crm.example.com/contacts?phone={caller}&call={call}
      lookup:
        url: https://crm.example.com/api/contacts?phone={caller}
        timeout_seconds: 2
        headers: {Authorization: "Bearer ..."}
        fields: {name: data.0.full_name, company: data.0.company, email: data.0.email}

Everything is checked once, at load: http(s) URLs only, no line breaks anywhere (a header
value with CR/LF would start a header of its own), only the placeholders each template can
fill. Messages never repeat a secret or a header value (they may be credentials).

This module imports nothing from ``callcenter.center`` (whose ``Tenant`` has a ``crm`` field):
the dependency points one way.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from callcenter.crm.events import CrmEvent
from callcenter.crm.urls import check_http_url, check_template

__all__ = [
    "LOOKUP_PLACEHOLDERS",
    "SCREEN_POP_PLACEHOLDERS",
    "CardFields",
    "CrmConfig",
    "Lookup",
    "Webhook",
]

SCREEN_POP_PLACEHOLDERS = frozenset({"caller", "call", "did", "queue", "agent"})
LOOKUP_PLACEHOLDERS = frozenset({"caller"})

MIN_SECRET_LENGTH = 16

# RFC 9110 token: what a header name may be made of.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
# Headers a webhook delivery sets itself: the receiver's checks depend on them.
_OWN_HEADERS = frozenset({"content-type", "content-length", "host", "user-agent"})
# A path into the CRM's JSON answer: keys and list indexes joined by dots (data.0.Full_Name).
_JSON_PATH = re.compile(r"[^.\s]+(?:\.[^.\s]+)*")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _secret(value: Any) -> Any:
    # Every message leaves the value out: it ends up in logs and terminals.
    if not isinstance(value, str):
        raise ValueError("must be text (put it in quotes)")
    if "\r" in value or "\n" in value or _CONTROL.search(value):
        raise ValueError("line breaks and control characters are not allowed in a secret")
    if len(value) < MIN_SECRET_LENGTH:
        raise ValueError(
            f"too short: at least {MIN_SECRET_LENGTH} characters (make one with: "
            "python -c 'import secrets; print(secrets.token_hex(32))')"
        )
    return value


def _headers(value: Any) -> Any:
    if not isinstance(value, dict):
        raise ValueError("must be a mapping of header name to value")
    out: dict[str, str] = {}
    for name, text in value.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            raise ValueError(f"{str(name)[:40]!r} is not a valid HTTP header name")
        if isinstance(text, int | float) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            raise ValueError(f"header {name}: the value must be text")
        if "\r" in text or "\n" in text:
            raise ValueError(f"header {name}: line break (CR/LF) not allowed in the value")
        if _CONTROL.search(text):
            raise ValueError(f"header {name}: control character not allowed in the value")
        out[name] = text
    return out


def _no_own_headers(value: dict[str, str]) -> dict[str, str]:
    for name in value:
        lowered = name.lower()
        if lowered in _OWN_HEADERS or lowered.startswith("x-callcenter-"):
            raise ValueError(f"header {name} is set by the delivery itself")
    return value


def _json_path(value: str) -> str:
    if not _JSON_PATH.fullmatch(value):
        raise ValueError(f"{value!r} is not a path like data.0.name")
    return value


def _template(allowed: frozenset[str]) -> AfterValidator:
    return AfterValidator(lambda value: check_template(value, allowed))


def _unique_events(value: list[CrmEvent]) -> list[CrmEvent]:
    seen: set[CrmEvent] = set()
    for event in value:
        if event in seen:
            raise ValueError(f"event {event.value!r} is listed twice")
        seen.add(event)
    return value


HttpUrl = Annotated[str, AfterValidator(check_http_url)]
Secret = Annotated[str, BeforeValidator(_secret)]
Headers = Annotated[dict[str, str], BeforeValidator(_headers)]
JsonPath = Annotated[str, Field(max_length=200), AfterValidator(_json_path)]


class Webhook(_Strict):
    """One receiver: every event it subscribes to is POSTed to ``url`` as signed JSON.

    A delivery is tried up to ``max_attempts`` times: after a network error, a timeout, a 5xx
    or a 429, it waits ``retry_backoff_seconds`` doubled on each attempt (with jitter), at most
    ``retry_backoff_max_seconds``. Any other 4xx is final.
    """

    url: HttpUrl
    secret: Secret = Field(repr=False)
    events: Annotated[list[CrmEvent], Field(min_length=1), AfterValidator(_unique_events)]
    timeout_seconds: float = Field(10.0, gt=0, le=60)
    headers: Annotated[Headers, AfterValidator(_no_own_headers)] = Field({}, repr=False)
    max_attempts: int = Field(8, ge=1, le=50)
    retry_backoff_seconds: float = Field(10.0, gt=0, le=3600)
    retry_backoff_max_seconds: float = Field(3600.0, gt=0, le=86_400)

    def wants(self, event: CrmEvent) -> bool:
        return event in self.events


class CardFields(_Strict):
    """Where each field of the contact card is found in the CRM's JSON answer: keys and list
    indexes joined by dots (``data.0.Full_Name``, ``value.0.Name``)."""

    name: JsonPath | None = None
    company: JsonPath | None = None
    email: JsonPath | None = None
    notes: JsonPath | None = None
    url: JsonPath | None = None

    @model_validator(mode="after")
    def _some(self) -> CardFields:
        if not any((self.name, self.company, self.email, self.notes, self.url)):
            raise ValueError("map at least one of: name, company, email, notes, url")
        return self


class Lookup(_Strict):
    """The contact behind a caller's number: GET ``url`` (``{caller}`` filled in), map the JSON
    answer to a card. A slow or broken CRM gives no card, never an error."""

    url: Annotated[str, _template(LOOKUP_PLACEHOLDERS)]
    # Short: a person waits on it (the agent's screen-pop), never the call.
    timeout_seconds: float = Field(2.0, gt=0, le=10)
    headers: Headers = Field({}, repr=False)
    fields: CardFields


class CrmConfig(_Strict):
    """A tenant's CRM: webhooks, the screen-pop URL, the contact lookup (each optional)."""

    webhooks: list[Webhook] = []
    screen_pop_url: Annotated[str, _template(SCREEN_POP_PLACEHOLDERS)] | None = None
    lookup: Lookup | None = None

    @model_validator(mode="after")
    def _unique_urls(self) -> CrmConfig:
        # A delivery names its receiver by URL (the secret is looked up when it is sent, so
        # that it never sits in the broker); two entries with one URL would be ambiguous.
        seen: set[str] = set()
        for hook in self.webhooks:
            if hook.url in seen:
                raise ValueError(
                    f"webhook {hook.url} is listed twice: list its events in one entry"
                )
            seen.add(hook.url)
        return self

    def webhook(self, url: str) -> Webhook | None:
        return next((hook for hook in self.webhooks if hook.url == url), None)

    @property
    def events(self) -> frozenset[CrmEvent]:
        """Every event some webhook subscribes to."""
        return frozenset(event for hook in self.webhooks for event in hook.events)
