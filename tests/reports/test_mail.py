"""The scheduled report e-mail, received by a local SMTP server (aiosmtpd) the test starts:
the message, its PDF attachment read back, the schedule (which hour, which summaries), sent
once per period, and clear errors when the server cannot be used."""

from __future__ import annotations

import email
import io
import logging
import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from pypdf import PdfReader
from redis import Redis as SyncRedis
from sqlalchemy import create_engine

from callcenter.center.reports_config import ReportsConfig
from callcenter.reports.mail import MailError, due, period_of, send_message, send_summary
from callcenter.settings import MailSettings, Settings
from tests.reports.sample import NAME, TITLE, registered
from workers.context import WorkerContext
from workers.reports_mail import beat_entries, mail_tenant

# Monday 2026-03-02 07:05 in Moscow (04:05 UTC).
MONDAY_7AM_MOSCOW = datetime(2026, 3, 2, 4, 5, tzinfo=UTC)


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[Envelope, EmailMessage]] = []

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        parsed = email.message_from_bytes(raw, policy=default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope, parsed))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, MailSettings]]:
    # aiosmtpd's server thread logs a client's goodbye after pytest has closed its capture of
    # the test's output ("I/O operation on closed file"): its chatter is not the test's.
    logging.getLogger("mail.log").setLevel(logging.CRITICAL)
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, MailSettings(host="127.0.0.1", port=port, sender="reports@center.example")
    finally:
        controller.stop()


def config(**values: Any) -> ReportsConfig:
    base: dict[str, Any] = {"recipients": ["boss@acme.example", "ops@acme.example"],
                            "reports": [NAME], "tz": "Europe/Moscow", "hour": 7}  # fmt: skip
    return ReportsConfig.model_validate({**base, **values})


def pdf_text(message: EmailMessage) -> tuple[str, str]:
    attachments = list(message.iter_attachments())
    assert len(attachments) == 1
    part = attachments[0]
    assert part.get_content_type() == "application/pdf"
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(payload)).pages)
    return part.get_filename() or "", text


def test_the_daily_summary_arrives_with_its_pdf(smtp: tuple[Inbox, MailSettings]) -> None:
    inbox, settings = smtp
    with registered():
        send_summary(create_engine("sqlite://"), settings, "acme", config(), "daily",
                     MONDAY_7AM_MOSCOW)  # fmt: skip
    assert len(inbox.messages) == 1
    envelope, message = inbox.messages[0]
    assert envelope.mail_from == "reports@center.example"
    assert envelope.rcpt_tos == ["boss@acme.example", "ops@acme.example"]
    # Yesterday in Moscow: Sunday 1 March.
    assert message["Subject"] == "Daily reports of acme: 2026-03-01 (Europe/Moscow)"
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert TITLE in text and "Anna Ivanova" in text and "1:02:05" in text
    name, pdf = pdf_text(message)
    assert name == "sample-agents-acme-2026-03-01.pdf"
    assert TITLE in pdf and "Period: 2026-03-01 (Europe/Moscow)" in pdf and "Total" in pdf


def test_a_report_that_fails_is_named_and_the_others_still_go(
    smtp: tuple[Inbox, MailSettings],
) -> None:
    inbox, settings = smtp
    with registered():
        chosen = config(reports=[NAME, "no-such-report"])
        send_summary(create_engine("sqlite://"), settings, "acme", chosen, "weekly",
                     MONDAY_7AM_MOSCOW)  # fmt: skip
    _, message = inbox.messages[0]
    assert message["Subject"] == "Weekly reports of acme: 2026-02-23 to 2026-03-01 (Europe/Moscow)"
    body = message.get_body(("plain",))
    assert body is not None
    assert "no-such-report: no report 'no-such-report'" in body.get_content()
    assert len(list(message.iter_attachments())) == 1


def test_the_schedule_in_the_tenants_zone() -> None:
    assert due(config(), MONDAY_7AM_MOSCOW) == ["daily"]
    assert due(config(weekly=True), MONDAY_7AM_MOSCOW) == ["daily", "weekly"]
    assert due(config(weekly=True, daily=False), MONDAY_7AM_MOSCOW) == ["weekly"]
    assert due(config(), datetime(2026, 3, 2, 7, 5, tzinfo=UTC)) == []  # 10:05 in Moscow
    assert period_of("daily", MONDAY_7AM_MOSCOW, "Europe/Moscow") == ("2026-03-01", "2026-03-01")
    assert period_of("weekly", MONDAY_7AM_MOSCOW, "UTC") == ("2026-02-23", "2026-03-01")


def test_the_center_files_reports_section_is_checked() -> None:
    with pytest.raises(ValueError, match="'Mars/Base' does not exist"):
        config(tz="Mars/Base")
    with pytest.raises(ValueError, match="'boss' is not an e-mail address"):
        config(recipients=["boss"])
    with pytest.raises(ValueError, match="at least 1"):
        config(recipients=[])


def test_the_worker_sends_each_summary_once_and_the_beat_has_an_entry_per_tenant(
    smtp: tuple[Inbox, MailSettings], redis_url: str, tmp_path: Path
) -> None:
    inbox, mail = smtp
    tenant = f"mail{uuid.uuid4().hex[:8]}"
    center_yaml = tmp_path / "center.yaml"
    center_yaml.write_text(
        f"tenants:\n  - name: {tenant}\n    domain: {tenant}.example.com\n"
        f"    reports:\n      recipients: [boss@acme.example]\n      reports: [{NAME}]\n"
        f"      tz: Europe/Moscow\n      hour: 7\n"
        f"  - name: other{tenant}\n    domain: other.{tenant}.example.com\n"
    )
    settings = Settings.model_validate(
        {"redis_url": redis_url, "mail": mail.model_dump(), "worker": {"center": str(center_yaml)}}
    )
    entries = beat_entries(settings)
    assert list(entries) == [f"reports-mail-{tenant}"]
    assert entries[f"reports-mail-{tenant}"]["args"] == (tenant,)

    redis = SyncRedis.from_url(redis_url)
    ctx = WorkerContext(settings, create_engine("sqlite://"), redis)  # the settings' center
    try:
        with registered():
            assert mail_tenant(ctx, tenant, MONDAY_7AM_MOSCOW) == ["daily"]
            assert mail_tenant(ctx, tenant, MONDAY_7AM_MOSCOW) == []  # the beat fired twice
            assert mail_tenant(ctx, f"other{tenant}", MONDAY_7AM_MOSCOW) == []
            assert mail_tenant(ctx, tenant, datetime(2026, 3, 2, 9, 5, tzinfo=UTC)) == []
    finally:
        redis.close()
    assert len(inbox.messages) == 1


def test_an_smtp_server_that_cannot_be_reached_is_named() -> None:
    settings = MailSettings(host="127.0.0.1", port=_free_port(), timeout=2)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@b.example", "c@d.example", "x"
    with pytest.raises(MailError, match=r"cannot send through SMTP server 127\.0\.0\.1:\d+"):
        send_message(message, settings)


def test_starttls_asked_of_a_server_without_it_is_said(smtp: tuple[Inbox, MailSettings]) -> None:
    _, settings = smtp
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@b.example", "c@d.example", "x"
    with pytest.raises(MailError, match="STARTTLS"):
        send_message(message, settings.model_copy(update={"starttls": True}))
