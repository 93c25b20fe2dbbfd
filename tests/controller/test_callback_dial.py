"""Which dial strings a callback tries, and the number the customer sees."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.controller.callback_dial import (
    DEFAULT_CALLBACK_DIAL,
    NO_CALLER_ID,
    CallbackAttempt,
    callback_attempts,
    callback_caller_id,
    check_callback_dial,
)
from callcenter.controller.queue_flow import FlowSettings
from tests.controller.test_call_control import make_tenant


def test_an_explicit_dial_string_is_used_for_every_number(tmp_path: Path) -> None:
    tenant = make_tenant("acme", tmp_path)
    dial = "sofia/gateway/backup/8{number}"
    for number in ("78121112233", "15551234567"):
        assert callback_attempts(number, dial, tenant) == [
            CallbackAttempt(f"sofia/gateway/backup/8{number}")
        ]


def test_without_a_tenant_the_default_dial_string() -> None:
    assert callback_attempts("+4951234567", None, None) == [
        CallbackAttempt(DEFAULT_CALLBACK_DIAL.format(number="+4951234567"))
    ]


def test_the_tenants_route_gives_its_gateways_cheapest_first(tmp_path: Path) -> None:
    tenant = make_tenant("acme", tmp_path)
    attempts = callback_attempts("78121112233", None, tenant)
    assert [(a.dial, a.gateway) for a in attempts] == [
        ("sofia/gateway/gwb/78121112233", "gwb"),
        ("sofia/gateway/gwa/78121112233", "gwa"),
    ]
    assert attempts[0].variables == {
        "cc_gateway": "gwb",
        "execute_on_originate": "limit hash cc_gateway gwb 10 !NORMAL_CIRCUIT_CONGESTION",
    }


@pytest.mark.parametrize("number", ["15551234567", "7812", "7" * 18])
def test_a_number_no_route_takes_has_no_attempt(tmp_path: Path, number: str) -> None:
    assert callback_attempts(number, None, make_tenant("acme", tmp_path)) == []


def test_the_customer_sees_the_setting_else_the_number_they_called() -> None:
    assert callback_caller_id("74950000000", "74951234567") == "74950000000"
    assert callback_caller_id(None, "74951234567") == "74951234567"
    assert callback_caller_id(None, "") == NO_CALLER_ID
    assert callback_caller_id(None, "support-line") == NO_CALLER_ID  # not a number


@pytest.mark.parametrize(
    ("dial", "problem"),
    [
        ("sofia/gateway/pstn", "must contain {number}"),
        ("sofia/gateway/pstn/{number}\r\nbgapi", "CR, LF"),
    ],
)
def test_bad_dial_strings_are_refused(dial: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        check_callback_dial(dial)
    with pytest.raises(ValueError):
        FlowSettings(callback_dial=dial)


def test_a_caller_id_that_is_no_number_is_refused() -> None:
    with pytest.raises(ValueError, match="is not a number"):
        FlowSettings(callback_caller_id="Acme")
    assert FlowSettings().callback_dial is None  # the tenant's routes
