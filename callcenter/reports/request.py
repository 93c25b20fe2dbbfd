"""A ``ReportRequest`` from what a person typed (the command line, the API's query string),
with every mistake said so that it can be fixed: the period, the zone, the granularity, and
names (queues, agents, DIDs, gateways) the tenant does not have."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from callcenter.reports.errors import InvalidPeriodError, InvalidReportInputError, UnknownNameError
from callcenter.reports.model import Granularity, Report, ReportRequest
from callcenter.reports.periods import resolve, zone

__all__ = ["KnownNames", "build_request", "check_names", "names_list", "parse_options", "today"]


def today(tz_name: str) -> str:
    return datetime.now(zone(tz_name)).date().isoformat()


def names_list(values: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"sales,support"`` or ``["sales", "support,vip"]`` -> ``("sales", "support", "vip")``."""
    if values is None:
        return ()
    items = [values] if isinstance(values, str) else list(values)
    out: list[str] = []
    for item in items:
        out.extend(part.strip() for part in item.split(",") if part.strip())
    return tuple(dict.fromkeys(out))


def build_request(
    tenant: str,
    start: str | None,
    end: str | None,
    tz: str | None = None,
    granularity: str | None = None,
    *,
    queues: Sequence[str] = (),
    agents: Sequence[str] = (),
    dids: Sequence[str] = (),
    gateways: Sequence[str] = (),
    options: dict[str, Any] | None = None,
) -> ReportRequest:
    """The request for ``start``..``end`` (dates or times in ``tz``; the end day included).
    Without ``start`` and ``end``: today; with one only, that one day."""
    tz_name = (tz or "UTC").strip() or "UTC"
    zone(tz_name)
    if not start and not end:
        start = end = today(tz_name)
    elif not start:
        start = end
    elif not end:
        end = start
    assert start is not None and end is not None
    first, last = resolve(start, end, tz_name)
    try:
        cut = Granularity(granularity) if granularity else Granularity.TOTAL
    except ValueError:
        choices = ", ".join(g.value for g in Granularity)
        raise InvalidPeriodError(
            f"granularity {granularity!r} is not one of: {choices}", granularity=granularity
        ) from None
    return ReportRequest(
        tenant=tenant,
        start=first,
        end=last,
        tz=tz_name,
        granularity=cut,
        queues=tuple(queues),
        agents=tuple(agents),
        dids=tuple(dids),
        gateways=tuple(gateways),
        options=options or {},
    )


@dataclass
class KnownNames:
    """What a tenant has, for each filter; ``None``: not known here (not checked)."""

    queues: set[str] | None = None
    agents: set[str] | None = None
    dids: set[str] | None = None
    gateways: set[str] | None = None
    extra: dict[str, set[str]] = field(default_factory=dict)


def check_names(request: ReportRequest, known: KnownNames) -> None:
    """Raise ``UnknownNameError`` for the first filter that names what the tenant lacks."""
    for kind, singular, asked, have in (
        ("queues", "queue", request.queues, known.queues),
        ("agents", "agent", request.agents, known.agents),
        ("dids", "DID", request.dids, known.dids),
        ("gateways", "gateway", request.gateways, known.gateways),
    ):
        if have is None:
            continue
        missing = [name for name in asked if name not in have]
        if missing:
            listed = ", ".join(sorted(have)[:30]) or "none"
            raise UnknownNameError(
                f"tenant {request.tenant!r} has no {singular} {missing[0]!r} "
                f"({kind} there: {listed})",
                **{"tenant": request.tenant, "kind": singular, "name": missing[0]},
            )


# Options whose values may not come from a request (they name files on the server).
_SERVER_ONLY_OPTIONS = frozenset({"center"})


def parse_options(
    pairs: Sequence[str] | None = None, text: str | None = None, *, remote: bool = False
) -> dict[str, Any]:
    """Report options from ``key=value`` pairs (the command line; a value is read as JSON when
    it is JSON — 30, true, ["sale","upsell"] — else as text) or from a JSON object (the API).
    ``remote``: the options came over the network, so a what-if rate table may be CSV text or
    rows but not the path of a file on the server."""
    import json

    options: dict[str, Any] = {}
    if text:
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InvalidReportInputError(
                f'options: not a JSON object ({exc.msg}): e.g. {{"sl_seconds": 30}}',
                options=text[:200],
            ) from None
        if not isinstance(parsed, dict):
            raise InvalidReportInputError(
                'options: a JSON object is expected, e.g. {"sl_seconds": 30}', options=text[:200]
            )
        options.update(parsed)
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidReportInputError(
                f"option {pair!r}: write key=value (e.g. sl_seconds=30)", option=pair
            )
        try:
            options[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            options[key.strip()] = value
    refused = sorted(_SERVER_ONLY_OPTIONS & set(options))
    if refused:
        raise InvalidReportInputError(
            f"option {refused[0]!r} cannot be given here (the server's configuration is used)",
            option=refused[0],
        )
    rates = options.get("rates")
    if remote and isinstance(rates, dict):
        for gateway, table in rates.items():
            # What the tariffs report would read as a file's path (no comma, no new line).
            if isinstance(table, str) and "," not in table and "\n" not in table:
                raise InvalidReportInputError(
                    f"option rates: gateway {gateway}: give the table as CSV text or rows "
                    '(e.g. [["7", 0.05]]); a file on the server is read only by the command line',
                    option="rates",
                    gateway=str(gateway),
                )
    return options


def without_server_options(report: Report) -> Report:
    """The report as it may be shown to whoever asked: the options the server added (its
    configuration) are not echoed back."""
    options = report.request.options
    if not _SERVER_ONLY_OPTIONS & set(options):
        return report
    kept = {k: v for k, v in options.items() if k not in _SERVER_ONLY_OPTIONS}
    return report.model_copy(
        update={"request": report.request.model_copy(update={"options": kept})}
    )
