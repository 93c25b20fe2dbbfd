"""Payloads: every documented key, in order, null when unknown; ids derived, not random."""

from __future__ import annotations

import json

import pytest

from callcenter.crm import COMMON_FIELDS, EVENT_FIELDS, CrmEvent, build_event, delivery_id
from callcenter.crm.payloads import iso_ms


def test_every_event_has_the_common_fields_then_its_own() -> None:
    for event in CrmEvent:
        built = build_event(event, tenant="acme", key="1-0", at_ms=1_700_000_000_123, fields={})
        payload = json.loads(built.body)
        assert list(payload) == [*COMMON_FIELDS, *EVENT_FIELDS[event]]
        assert payload["event"] == event.value and payload["tenant"] == "acme"
        assert payload["at"] == "2023-11-14T22:13:20.123Z"
        assert payload["at_ms"] == 1_700_000_000_123
        assert all(payload[name] is None for name in EVENT_FIELDS[event])


def test_a_field_outside_the_contract_is_an_error() -> None:
    with pytest.raises(ValueError, match="answered has no field"):
        build_event(CrmEvent.ANSWERED, tenant="a", key="1-0", at_ms=1, fields={"talk_ms": 5})


def test_ids_depend_only_on_what_the_event_is() -> None:
    first = build_event(CrmEvent.ENDED, tenant="acme", key="ended:c1", at_ms=5, fields={})
    again = build_event(CrmEvent.ENDED, tenant="acme", key="ended:c1", at_ms=9, fields={})
    other = build_event(CrmEvent.ENDED, tenant="globex", key="ended:c1", at_ms=5, fields={})
    assert first.event_id == again.event_id != other.event_id
    assert delivery_id(first.event_id, "https://a/") == delivery_id(first.event_id, "https://a/")
    assert delivery_id(first.event_id, "https://a/") != delivery_id(first.event_id, "https://b/")


def test_text_stays_utf8_and_empty_is_null() -> None:
    built = build_event(
        CrmEvent.QUEUED,
        tenant="acme",
        key="1-0",
        at_ms=1,
        fields={"caller_name": "Иван", "did": "", "position": 2},
    )
    assert '"caller_name":"Иван"' in built.body
    assert built.payload["did"] is None and built.payload["position"] == 2
    assert iso_ms(None) is None and iso_ms(0) is None
