"""The scheduled report e-mail: a tenant's reports for yesterday (daily) or the last week
(weekly), each as a PDF attached, their tables in the text, sent over SMTP (``[mail]``).

Which tenants, to whom, which reports and in which zone: the ``reports:`` section of each
tenant in the center file (``callcenter.center.reports_config.ReportsConfig``).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Sequence
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import Engine

from callcenter.center.reports_config import ReportsConfig
from callcenter.center.tenant import Center
from callcenter.reports.errors import ReportError
from callcenter.reports.export import filename, period_text, to_pdf, to_table
from callcenter.reports.model import Granularity, Report
from callcenter.reports.periods import zone
from callcenter.reports.registry import REPORTS, get_report
from callcenter.reports.request import build_request, without_server_options
from callcenter.settings import MailSettings

__all__ = [
    "MailError",
    "Summary",
    "build_message",
    "due",
    "period_of",
    "run_summary",
    "send_message",
    "send_summary",
]

log = logging.getLogger("callcenter.reports.mail")

Summary = str  # "daily" or "weekly"


class MailError(Exception):
    """The e-mail could not be sent; the message says where and why."""


def period_of(kind: Summary, now: datetime, tz_name: str) -> tuple[str, str]:
    """The whole local days a summary covers: yesterday, or the last Monday..Sunday."""
    local = now.astimezone(zone(tz_name)).date()
    if kind == "daily":
        day = local - timedelta(days=1)
        return day.isoformat(), day.isoformat()
    if kind == "weekly":
        monday = local - timedelta(days=local.weekday() + 7)
        return monday.isoformat(), (monday + timedelta(days=6)).isoformat()
    raise ValueError(f"summary {kind!r} is not daily or weekly")


def due(config: ReportsConfig, now: datetime) -> list[Summary]:
    """The summaries to send at ``now`` (called once an hour): at the configured local hour,
    the daily one, and on Mondays the weekly one."""
    local = now.astimezone(zone(config.tz))
    if local.hour != config.hour:
        return []
    out: list[Summary] = []
    if config.daily:
        out.append("daily")
    if config.weekly and local.weekday() == 0:
        out.append("weekly")
    return out


def run_summary(
    engine: Engine,
    tenant: str,
    config: ReportsConfig,
    kind: Summary,
    now: datetime,
    center: Center | None = None,
) -> tuple[list[Report], list[str]]:
    """Run the summary's reports; a report that fails is named in the second list (the others
    still go out). ``center``: the gateways' channel limits, routes and rate tables the trunks
    and tariffs reports use."""
    start, end = period_of(kind, now, config.tz)
    granularity = Granularity.DAY if kind == "weekly" else Granularity.HOUR
    names = config.reports or sorted(_all_names())
    reports: list[Report] = []
    failed: list[str] = []
    for name in names:
        try:
            spec = get_report(name)
            options: dict[str, object] = {} if center is None else {"center": center}
            request = build_request(
                tenant, start, end, config.tz, granularity.value, options=options
            )
            reports.append(without_server_options(spec.run(engine, request)))
        except ReportError as exc:
            log.warning("report_mail_failed tenant=%s report=%s error=%s", tenant, name, exc)
            failed.append(f"{name}: {exc.message}")
    return reports, failed


def _all_names() -> list[str]:
    from callcenter.reports.registry import load_reports

    load_reports()
    return list(REPORTS)


def build_message(
    reports: Sequence[Report],
    *,
    sender: str,
    recipients: Sequence[str],
    subject: str,
    failed: Sequence[str] = (),
) -> EmailMessage:
    """The e-mail: each report's table in the text, its PDF attached."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    parts = [subject, ""]
    if not reports:
        parts.append("No report could be made for this period.")
    for report in reports:
        parts.append(to_table(report))
    if failed:
        parts.append("Not included (each says why):")
        parts.extend(f"  {line}" for line in failed)
    message.set_content("\n".join(parts))
    for report in reports:
        message.add_attachment(
            to_pdf(report), maintype="application", subtype="pdf", filename=filename(report, "pdf")
        )
    return message


def send_message(message: EmailMessage, settings: MailSettings) -> None:
    """Send through the SMTP server of the settings (STARTTLS and sign-in when configured)."""
    where = f"{settings.host}:{settings.port}"
    try:
        with smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout) as smtp:
            smtp.ehlo()
            if settings.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password)
            smtp.send_message(message)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"SMTP server {where} refused the sign-in of {settings.username!r}: check "
            f"[mail] username and password ({exc.smtp_code})"
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(exc.recipients)
        raise MailError(f"SMTP server {where} refused the recipients {refused}") from exc
    except smtplib.SMTPNotSupportedError as exc:
        raise MailError(
            f"SMTP server {where} does not offer what [mail] asks (STARTTLS or sign-in): {exc}"
        ) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise MailError(f"cannot send through SMTP server {where} ([mail] host/port): {exc}"
                        ) from exc  # fmt: skip


def send_summary(
    engine: Engine,
    settings: MailSettings,
    tenant: str,
    config: ReportsConfig,
    kind: Summary,
    now: datetime,
    center: Center | None = None,
) -> EmailMessage:
    """Make and send one summary; returns the message sent."""
    reports, failed = run_summary(engine, tenant, config, kind, now, center)
    start, end = period_of(kind, now, config.tz)
    period = start if start == end else f"{start} to {end}"
    label = "Daily" if kind == "daily" else "Weekly"
    if reports:
        period = period_text(reports[0])
    message = build_message(
        reports,
        sender=settings.sender,
        recipients=config.recipients,
        subject=f"{label} reports of {tenant}: {period}",
        failed=failed,
    )
    send_message(message, settings)
    log.info("report_mail_sent tenant=%s kind=%s reports=%d to=%s", tenant, kind, len(reports),
             ",".join(config.recipients))  # fmt: skip
    return message
