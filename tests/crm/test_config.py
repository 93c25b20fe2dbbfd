"""The ``crm:`` section of a tenant, read through the real center loader: what it accepts, and
the message (file, line, field) for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from callcenter.center import load_center
from callcenter.crm import CrmEvent
from tests.center.helpers import problems, write

SECRET = "s3cret-0123456789abcdef"

# Line 1 "tenants:", the crm section starts on line 4.
BASE = """\
tenants:
  - name: acme
    domain: acme.example.com
    crm:
{crm}
"""


def center(tmp_path: Path, crm: str) -> Path:
    body = "\n".join("      " + line for line in crm.strip("\n").splitlines())
    return write(tmp_path, BASE.format(crm=body))


def only_problem(tmp_path: Path, crm: str) -> str:
    found = problems(center(tmp_path, crm))
    assert len(found) == 1, found
    return found[0]


def test_a_full_crm_section_loads(tmp_path: Path) -> None:
    path = center(
        tmp_path,
        f"""
webhooks:
  - url: https://crm.example.com/hooks/cc
    secret: {SECRET}
    events: [ringing, answered, ended, disposition]
    timeout_seconds: 5
    headers: {{Authorization: "Bearer abc"}}
    max_attempts: 3
screen_pop_url: https://crm.example.com/contacts?phone={{caller}}&call={{call}}
lookup:
  url: https://crm.example.com/api/contacts?phone={{caller}}
  timeout_seconds: 1.5
  headers: {{X-Api-Key: "k"}}
  fields: {{name: data.0.full_name, email: data.0.email}}
""",
    )
    crm = load_center(path).tenant("acme").crm
    assert crm is not None
    hook = crm.webhooks[0]
    assert hook.events == [
        CrmEvent.RINGING,
        CrmEvent.ANSWERED,
        CrmEvent.ENDED,
        CrmEvent.DISPOSITION,
    ]
    assert (hook.timeout_seconds, hook.max_attempts, hook.headers) == (
        5,
        3,
        {"Authorization": "Bearer abc"},
    )
    assert crm.webhook("https://crm.example.com/hooks/cc") is hook
    assert crm.lookup is not None and crm.lookup.fields.name == "data.0.full_name"
    assert SECRET not in repr(crm)  # never in a log line by accident


def test_a_tenant_without_crm_loads_as_before(tmp_path: Path) -> None:
    path = write(tmp_path, "tenants:\n  - {name: acme, domain: acme.example.com}\n")
    assert load_center(path).tenant("acme").crm is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://crm.example.com/x", "must be an http:// or https:// URL"),
        ("crm.example.com/hook", "must be an http:// or https:// URL"),
        ("javascript:alert(1)", "must be an http:// or https:// URL"),
        ("https:///nohost", "the URL has no host"),
        ("https://user:pw@crm.example.com/", "credentials in the URL are not used"),
        ("https://crm.example.com:99999/", "port is not a number from 1 to 65535"),
        ('"https://crm.example.com/a b"', "character U+0020 not allowed in a URL"),
        ('"https://crm.example.com/\\r\\nX: y"', "line break (CR/LF) not allowed in a URL"),
    ],
)
def test_a_webhook_url_must_be_http(tmp_path: Path, url: str, message: str) -> None:
    found = only_problem(tmp_path, f"webhooks: [{{url: {url}, secret: {SECRET}, events: [ended]}}]")
    assert found.startswith(f"{tmp_path / 'center.yaml'}:5: tenants.0.crm.webhooks.0.url: ")
    assert message in found


def test_an_unknown_placeholder_is_refused_with_the_allowed_ones(tmp_path: Path) -> None:
    found = only_problem(tmp_path, "screen_pop_url: https://crm.example.com/?p={phone}")
    assert found.endswith(
        "tenants.0.crm.screen_pop_url: unknown placeholder {phone}; "
        "allowed: {agent}, {call}, {caller}, {did}, {queue}"
    )
    found = only_problem(
        tmp_path,
        "lookup: {url: 'https://crm.example.com/?p={caller}&q={queue}', fields: {name: n}}",
    )
    assert found.endswith(
        "tenants.0.crm.lookup.url: unknown placeholder {queue}; allowed: {caller}"
    )


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("https://{caller}.example.com/", "not the host"),
        ("{caller}", "must be an http:// or https:// URL"),
        ("https://crm.example.com/?p={caller!r}", "must be a plain {name}"),
        ("https://crm.example.com/?p={caller:>20}", "must be a plain {name}"),
        ("https://crm.example.com/?p={caller", "not a valid template"),
        ("https://crm.example.com/?p={0}", "must be a plain {name}"),
        ("https://crm.example.com/?p={caller}\\nX", "line break (CR/LF) not allowed"),
    ],
)
def test_a_bad_template_is_refused(tmp_path: Path, template: str, message: str) -> None:
    found = only_problem(tmp_path, f'screen_pop_url: "{template}"')
    assert "tenants.0.crm.screen_pop_url: " in found and message in found


def test_secrets_and_header_values_are_checked_and_never_repeated(tmp_path: Path) -> None:
    path = center(
        tmp_path,
        """
webhooks:
  - url: https://a.example.com/
    secret: tooshort-secret
    events: [ended]
  - url: https://b.example.com/
    secret: 1234567890123456789
    events: [ended]
  - url: https://c.example.com/
    secret: "0123456789abcdef"
    events: [ended]
    headers: {Authorization: "Bearer token-value\\r\\nX-Evil: 1"}
  - url: https://d.example.com/
    secret: "0123456789abcdef"
    events: [ended]
    headers: {X-Callcenter-Signature: forged}
""",
    )
    found = problems(path)
    text = "\n".join(found)
    assert "webhooks.0.secret: too short: at least 16 characters" in text
    assert "webhooks.1.secret: must be text (put it in quotes)" in text
    assert "webhooks.2.headers: header Authorization: line break (CR/LF) not allowed" in text
    assert "webhooks.3.headers: header X-Callcenter-Signature is set by the delivery" in text
    for secret in ("tooshort-secret", "1234567890123456789", "token-value"):
        assert secret not in text


def test_events_timeouts_and_duplicates(tmp_path: Path) -> None:
    path = center(
        tmp_path,
        f"""
webhooks:
  - url: https://a.example.com/
    secret: {SECRET}
    events: [ended, hangup]
    timeout_seconds: 0
  - url: https://b.example.com/
    secret: {SECRET}
    events: []
  - url: https://c.example.com/
    secret: {SECRET}
    events: [ended, ended]
    timeout_seconds: 600
lookup:
  url: https://crm.example.com/?p={{caller}}
  timeout_seconds: 30
  fields: {{}}
""",
    )
    text = "\n".join(problems(path))
    assert "webhooks.0.events.1: Input should be 'queued', 'ringing'" in text
    assert "webhooks.0.timeout_seconds: Input should be greater than 0" in text
    assert "webhooks.1.events: List should have at least 1 item" in text
    assert "webhooks.2.events: event 'ended' is listed twice" in text
    assert "webhooks.2.timeout_seconds: Input should be less than or equal to 60" in text
    assert "lookup.timeout_seconds: Input should be less than or equal to 10" in text
    assert "lookup.fields: map at least one of: name, company, email, notes, url" in text


def test_one_receiver_url_is_listed_once(tmp_path: Path) -> None:
    hook = f"{{url: https://a.example.com/, secret: {SECRET}, events: [ended]}}"
    found = only_problem(tmp_path, f"webhooks: [{hook}, {hook}]")
    assert "tenants.0.crm: webhook https://a.example.com/ is listed twice" in found


def test_a_misspelt_field_gets_a_suggestion(tmp_path: Path) -> None:
    found = only_problem(
        tmp_path,
        "lookup: {url: 'https://x.example.com/?p={caller}', timeout: 2, fields: {name: n}}",
    )
    assert found.endswith(
        "tenants.0.crm.lookup.timeout: unknown field; did you mean 'timeout_seconds'?"
    )
