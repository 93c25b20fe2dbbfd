"""Stream entries to rows: one batch of a tenant's events folded into the rows they touch.

Every row is keyed by what the switch or the controller named it (call UUID, leg UUID, call and
queue, Stream entry ID), and a column takes the last value an event gave it, so folding the same
entries twice, or in two batches, gives the same rows: the writer merges a batch into what the
database holds with the same rule.

A row is a list of its table's values in the order of ``*_COLUMNS``, each one the bytes the
database takes in COPY text, b"" for no value (NULL): the Stream's bytes as Redis gave them
(nothing is decoded), numbers keep the digits the Stream had (checked, not converted), and times
come as UTC text ("2026-01-01 10:00:00.123+00", from the Stream's epoch milliseconds through a
cache of the text of each second). The writer joins the rows into COPY text as they are, and
the fold sets a column by its index: this is the hot loop of the ingest (every Stream entry
goes through it), hence the merges written out below. ``typed`` gives a row's values as Python
values, to read a batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "AGENT_STATE_COLUMNS",
    "CALL_COLUMNS",
    "CALL_FIRST",
    "LEG_COLUMNS",
    "TIME_COLUMNS",
    "WAIT_COLUMNS",
    "WAIT_FIRST",
    "Batch",
    "Row",
    "pg_time",
    "stream_id_key",
    "typed",
]

Row = list[bytes]

CALL_COLUMNS = (
    "call_uuid", "tenant", "node", "direction", "caller_number", "caller_name", "destination",
    "did", "campaign", "gateway", "queue", "agent", "started_at", "answered_at", "bridged_at",
    "ended_at", "wait_ms", "talk_ms", "hold_ms", "billsec", "duration", "hangup_cause",
    "hangup_side", "outcome", "rate_prefix", "rate_per_minute", "cost",
)  # fmt: skip
LEG_COLUMNS = (
    "leg_uuid", "call_uuid", "tenant", "node", "role", "agent", "channel", "caller_number",
    "destination", "gateway", "created_at", "answered_at", "ended_at", "billsec", "duration",
    "hold_ms", "hangup_cause", "hangup_side",
)  # fmt: skip
WAIT_COLUMNS = (
    "call_uuid", "queue", "tenant", "enqueued_at", "offered_at", "answered_at", "left_at",
    "outcome", "wait_ms", "position", "agent", "came_from", "overflow_to",
)  # fmt: skip
AGENT_STATE_COLUMNS = (
    "tenant", "stream_id", "agent", "status", "previous", "reason", "call_uuid", "at",
)  # fmt: skip

# Columns that keep the first value they got (an arrival time is not moved by a later event).
CALL_FIRST = frozenset({"started_at"})
WAIT_FIRST = frozenset({"enqueued_at", "offered_at", "position"})

_C_NODE, _C_DIRECTION = CALL_COLUMNS.index("node"), CALL_COLUMNS.index("direction")
_C_CALLER_NUMBER = CALL_COLUMNS.index("caller_number")
_C_CALLER_NAME = CALL_COLUMNS.index("caller_name")
_C_DESTINATION, _C_DID = CALL_COLUMNS.index("destination"), CALL_COLUMNS.index("did")
_C_CAMPAIGN, _C_GATEWAY = CALL_COLUMNS.index("campaign"), CALL_COLUMNS.index("gateway")
_C_QUEUE, _C_AGENT = CALL_COLUMNS.index("queue"), CALL_COLUMNS.index("agent")
_C_STARTED, _C_ANSWERED = CALL_COLUMNS.index("started_at"), CALL_COLUMNS.index("answered_at")
_C_BRIDGED, _C_ENDED = CALL_COLUMNS.index("bridged_at"), CALL_COLUMNS.index("ended_at")
_C_WAIT_MS, _C_TALK_MS = CALL_COLUMNS.index("wait_ms"), CALL_COLUMNS.index("talk_ms")
_C_HOLD_MS, _C_BILLSEC = CALL_COLUMNS.index("hold_ms"), CALL_COLUMNS.index("billsec")
_C_DURATION, _C_CAUSE = CALL_COLUMNS.index("duration"), CALL_COLUMNS.index("hangup_cause")
_C_SIDE, _C_OUTCOME = CALL_COLUMNS.index("hangup_side"), CALL_COLUMNS.index("outcome")
_C_PRICE = tuple(CALL_COLUMNS.index(c) for c in ("rate_prefix", "rate_per_minute", "cost"))
_W_ENQUEUED, _W_OFFERED = WAIT_COLUMNS.index("enqueued_at"), WAIT_COLUMNS.index("offered_at")
_W_ANSWERED, _W_LEFT = WAIT_COLUMNS.index("answered_at"), WAIT_COLUMNS.index("left_at")
_W_OUTCOME, _W_WAIT_MS = WAIT_COLUMNS.index("outcome"), WAIT_COLUMNS.index("wait_ms")
_W_POSITION, _W_AGENT = WAIT_COLUMNS.index("position"), WAIT_COLUMNS.index("agent")
_W_CAME_FROM = WAIT_COLUMNS.index("came_from")
_W_OVERFLOW_TO = WAIT_COLUMNS.index("overflow_to")
# A new row: its key and tenant, then nothing yet.
_CALL_EMPTY = (b"",) * (len(CALL_COLUMNS) - 2)
_WAIT_EMPTY = (b"",) * (len(WAIT_COLUMNS) - 3)

# Columns whose text is a time, an integer, or a decimal.
TIME_COLUMNS = frozenset({
    "started_at", "answered_at", "bridged_at", "ended_at", "created_at", "enqueued_at",
    "offered_at", "left_at", "at",
})  # fmt: skip
_INTEGERS = frozenset({"wait_ms", "talk_ms", "hold_ms", "billsec", "duration", "position"})
_DECIMALS = frozenset({"rate_per_minute", "cost"})

# Who hung up, from the caller leg's SIP disposition: the far end's BYE/CANCEL is the caller.
_REMOTE = frozenset({b"recv_bye", b"recv_cancel", b"recv_refuse"})

# queue_waits.outcome by the call state that ends a stay in a queue.
_WAIT_OUTCOME = {
    b"bridged": b"answered",
    b"abandoned": b"abandoned",
    b"overflowed": b"overflowed",
    b"moved": b"moved",  # a supervisor sent the waiting caller elsewhere
    b"callback_requested": b"callback_requested",
    b"callback_failed": b"callback_failed",
}

# Times: the text of each second seen ("2026-01-01 10:00:00"), by the digits of the epoch
# seconds as the Stream wrote them, and the text of each millisecond (".123+00") by its three
# digits: a time is two lookups and a concatenation. Past the year 9999 a time is no time.
_SECONDS: dict[bytes, bytes] = {}
_SECONDS_KEPT = 100_000  # about a day of distinct seconds; then the cache starts again
_MILLIS = {b"%03d" % ms: b".%03d+00" % ms for ms in range(1000)}
_MAX_MS = 253_402_300_799_999  # 9999-12-31 23:59:59.999 UTC
_EPOCH = b"1970-01-01 00:00:00.000+00"


def _int(value: bytes) -> bytes:
    """An integer field as the database takes it, b"" when it is not one. Plain ASCII digits
    (nearly always) pass as they are; anything else goes through int() (other digits, a sign;
    it raises on what int() refuses) and is written as int() reads it."""
    if value.isdigit() and len(value) < 19:
        return value
    text = value.decode(errors="replace")
    return str(int(text)).encode() if text.lstrip("-").isdigit() else b""


def _time(ms: bytes | None) -> bytes:
    """An epoch-ms time as UTC text, b"" when unset (or zero, or not a time)."""
    if not ms:
        return b""
    try:
        return _SECONDS[ms[:-3]] + _MILLIS[ms[-3:]]
    except KeyError:
        return _time_slow(ms)


def _time_slow(ms: bytes) -> bytes:
    text = ms.decode(errors="replace")
    if not text.isdigit():
        return b""
    value = int(text)
    if not value or value > _MAX_MS:
        return b""
    seconds, millis = divmod(value, 1000)
    prefix = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds)).encode()
    if seconds and ms.isdigit():  # the cache's key is the digits before the last three
        if len(_SECONDS) >= _SECONDS_KEPT:
            _SECONDS.clear()
        _SECONDS[ms[:-3]] = prefix
    return prefix + _MILLIS[b"%03d" % millis]


def pg_time(at: datetime) -> bytes:
    """A time as the rows hold it (UTC text, milliseconds)."""
    return _time(str(int(at.timestamp() * 1000)).encode()) or _EPOCH


def stream_id_key(stream_id: str) -> tuple[int, int]:
    """Stream IDs ("<ms>-<seq>") in their order (as strings, "9-0" would sort after "10-0")."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def typed(columns: Sequence[str], row: Sequence[bytes]) -> dict[str, Any]:
    """A row's values by column as Python values: datetime (aware, UTC), int, Decimal, str,
    None for no value."""
    out: dict[str, Any] = {}
    for name, raw in zip(columns, row, strict=True):
        value = raw.decode()
        if value == "":
            out[name] = None
        elif name in TIME_COLUMNS:
            out[name] = datetime.fromisoformat(value)
        elif name in _INTEGERS:
            out[name] = int(value)
        elif name in _DECIMALS:
            out[name] = Decimal(value)
        else:
            out[name] = value
    return out


Pricer = Callable[[str, str, int], tuple[str, Decimal, Decimal] | None]


@dataclass
class Batch:
    """The rows one batch of a tenant's Stream entries touches."""

    tenant: str
    # (gateway, number, billsec) -> (prefix, rate per minute, cost), or None when unpriced.
    pricer: Pricer | None = None
    call_rows: dict[bytes, Row] = field(default_factory=dict)  # CALL_COLUMNS
    leg_rows: dict[bytes, Row] = field(default_factory=dict)  # LEG_COLUMNS
    wait_rows: dict[tuple[bytes, bytes], Row] = field(default_factory=dict)  # WAIT_COLUMNS
    # Stream ID -> the row's values in AGENT_STATE_COLUMNS order.
    agent_states: dict[bytes, tuple[bytes, ...]] = field(default_factory=dict)
    recording_paths: dict[bytes, bytes] = field(default_factory=dict)  # call -> file written
    ended_call_ids: set[bytes] = field(default_factory=set)  # calls whose caller leg ended here
    entries: int = 0
    skipped: int = 0

    def __post_init__(self) -> None:
        self._tenant = self.tenant.encode()

    @property
    def rows(self) -> int:
        return (
            len(self.call_rows) + len(self.leg_rows) + len(self.wait_rows) + len(self.agent_states)
        )

    # The rows as Python values by column, to read a batch (the writer takes the byte rows).
    @property
    def calls(self) -> dict[str, dict[str, Any]]:
        return {key.decode(): typed(CALL_COLUMNS, row) for key, row in self.call_rows.items()}

    @property
    def legs(self) -> dict[str, dict[str, Any]]:
        return {key.decode(): typed(LEG_COLUMNS, row) for key, row in self.leg_rows.items()}

    @property
    def waits(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {
            (call.decode(), queue.decode()): typed(WAIT_COLUMNS, row)
            for (call, queue), row in self.wait_rows.items()
        }

    @property
    def recordings(self) -> dict[str, str]:
        """Call -> the file the switch wrote."""
        return {call.decode(): path.decode() for call, path in self.recording_paths.items()}

    @property
    def ended_calls(self) -> set[str]:
        """Calls whose caller leg ended in this batch."""
        return {call.decode() for call in self.ended_call_ids}

    def add(self, stream_id: str, f: Mapping[str, str]) -> None:
        """Fold one Stream entry in; an entry of an unknown type, or without what its type
        needs, is counted as skipped (an old or newer controller may write other kinds)."""
        if not f:
            self.entries += 1
            self.skipped += 1
            return
        flat = [x.encode() for kv in f.items() for x in kv]
        self.add_flat(((stream_id.encode(), flat),))

    def add_flat(self, entries: Iterable[tuple[bytes, Sequence[bytes] | None]]) -> None:
        """Fold Stream entries as XRANGE returns them: the ID and the flat field list (field,
        value, field, value...), as bytes. An entry without fields is left out."""
        tenant = self._tenant
        agent_states = self.agent_states
        call_event, leg_event, recordings = self._call_event, self._leg, self.recording_paths
        seconds, millis = _SECONDS, _MILLIS
        added = skipped = 0
        for stream_id, flat in entries:
            if not flat:
                continue
            added += 1
            it = iter(flat)
            f = dict(zip(it, it, strict=False))  # Redis gives the fields in pairs
            kind = f.get(b"type")
            try:
                # By how often each comes: agent states, call states, legs, recordings.
                if kind == b"agent":
                    ts = f.get(b"ts") or b"0"
                    try:  # _time, written out
                        at = seconds[ts[:-3]] + millis[ts[-3:]]
                    except KeyError:
                        # Else the time the Stream gave the entry.
                        at = _time(ts) or _time(stream_id.split(b"-", 1)[0]) or _EPOCH
                    agent_states[stream_id] = (
                        tenant,
                        stream_id,
                        f[b"agent"],
                        f[b"status"],
                        f.get(b"previous", b""),
                        f.get(b"reason", b""),
                        f.get(b"call", b""),
                        at,
                    )
                elif kind == b"call":
                    call_event(f)
                elif kind == b"leg":
                    leg_event(f)
                elif kind == b"recording":
                    if f[b"call"] and f[b"path"]:
                        recordings[f[b"call"]] = f[b"path"]
                else:
                    skipped += 1
            except (KeyError, ValueError):
                skipped += 1
        self.entries += added
        self.skipped += skipped

    def _call(self, call: bytes) -> Row:
        row = self.call_rows.get(call)
        if row is None:
            row = self.call_rows[call] = [call, self._tenant, *_CALL_EMPTY]
        return row

    def _call_event(self, f: Mapping[bytes, bytes]) -> None:
        call, state, queue = f[b"call"], f[b"state"], f.get(b"queue")
        if not call:
            raise ValueError("call event without a call")
        if not queue:
            return
        waits = self.wait_rows
        wait = waits.get((call, queue))
        if wait is None:
            wait = waits[(call, queue)] = [call, queue, self._tenant, *_WAIT_EMPTY]
        # A value merges in unless it is b"": a "first" column only while it has none.
        if state == b"waiting":
            position = _int(f.get(b"position", b""))
            if not wait[_W_ENQUEUED]:
                wait[_W_ENQUEUED] = _time(f.get(b"ts"))
            if not wait[_W_POSITION]:
                wait[_W_POSITION] = position
            if came_from := f.get(b"came_from"):
                wait[_W_CAME_FROM] = came_from
            (self.call_rows.get(call) or self._call(call))[_C_QUEUE] = queue
        elif state == b"offering":
            if not wait[_W_OFFERED]:
                wait[_W_OFFERED] = _time(f.get(b"ts"))
        elif state == b"answered":
            wait_ms = _int(f.get(b"wait_ms", b""))
            row = self.call_rows.get(call) or self._call(call)
            if wait_ms:
                wait[_W_WAIT_MS] = row[_C_WAIT_MS] = wait_ms
        elif state in _WAIT_OUTCOME:
            outcome = _WAIT_OUTCOME[state]
            at = _time(f.get(b"ts"))
            row = self.call_rows.get(call) or self._call(call)
            row[_C_OUTCOME] = wait[_W_OUTCOME] = outcome
            if at:
                wait[_W_LEFT] = at
            if state == b"bridged":
                row[_C_QUEUE] = queue
                if agent := f.get(b"agent"):
                    row[_C_AGENT] = wait[_W_AGENT] = agent
                if at:
                    row[_C_BRIDGED] = wait[_W_ANSWERED] = at
            elif state == b"abandoned":
                row[_C_QUEUE] = queue
                if wait_ms := _int(f.get(b"wait_ms", b"")):
                    row[_C_WAIT_MS] = wait[_W_WAIT_MS] = wait_ms
            elif state in (b"overflowed", b"moved") and (to := f.get(b"to")):
                wait[_W_OVERFLOW_TO] = to
        elif state == b"ended":
            talk_ms = _int(f.get(b"talk_ms", b""))
            row = self.call_rows.get(call) or self._call(call)
            if talk_ms:
                row[_C_TALK_MS] = talk_ms

    def _leg(self, f: Mapping[bytes, bytes]) -> None:
        get = f.get
        leg, call, role = f[b"leg"], f[b"call"], get(b"role") or b"other"
        if not leg or not call:
            raise ValueError("leg without a UUID")
        disposition = get(b"disposition", b"")
        remote = disposition in _REMOTE
        node, caller_number = get(b"node", b""), get(b"caller_number", b"")
        destination, gateway = get(b"destination", b""), get(b"gateway", b"")
        created, answered = _time(get(b"created_ms")), _time(get(b"answered_ms"))
        ended = _time(get(b"ended_ms"))
        billsec, duration = _int(get(b"billsec", b"")), _int(get(b"duration", b""))
        hold_ms, cause = _int(get(b"hold_ms", b"")), get(b"cause", b"")
        row = [
            leg, call, self._tenant, node, role, get(b"agent", b""), get(b"channel", b""),
            caller_number, destination, gateway, created, answered, ended, billsec, duration,
            hold_ms, cause, (b"remote" if remote else b"local") if disposition else b"",
        ]  # fmt: skip
        known = self.leg_rows.get(leg)
        if known is None:
            self.leg_rows[leg] = row
        else:  # reported again (two controllers): merged as the database merges it
            for index, value in enumerate(row):
                if value:
                    known[index] = value
        if role != b"caller":
            return
        self.ended_call_ids.add(call)
        did, queue = get(b"did"), get(b"queue")
        target = self.call_rows.get(call) or self._call(call)
        if created and not target[_C_STARTED]:
            target[_C_STARTED] = created
        # The call takes every value the caller leg has (b"": keeps what it had).
        if node:
            target[_C_NODE] = node
        if did:
            target[_C_DIRECTION] = b"inbound"
            target[_C_DID] = did
        elif gateway and not queue:
            target[_C_DIRECTION] = b"outbound"
        else:
            target[_C_DIRECTION] = b"internal"
        if caller_number:
            target[_C_CALLER_NUMBER] = caller_number
        if caller_name := get(b"caller_name"):
            target[_C_CALLER_NAME] = caller_name
        if destination:
            target[_C_DESTINATION] = destination
        if campaign := get(b"campaign"):
            target[_C_CAMPAIGN] = campaign
        if gateway:
            target[_C_GATEWAY] = gateway
        if answered:
            target[_C_ANSWERED] = answered
        if ended:
            target[_C_ENDED] = ended
        if billsec:
            target[_C_BILLSEC] = billsec
        if duration:
            target[_C_DURATION] = duration
        if hold_ms:
            target[_C_HOLD_MS] = hold_ms
        if cause:
            target[_C_CAUSE] = cause
        if disposition:
            # The caller hung up (their BYE), else the agent or callee did when there was a
            # bridge, else the center did (a transfer, an overflow, a prompt that ended).
            target[_C_SIDE] = (
                b"caller" if remote else (b"agent" if get(b"bridged_to") else b"system")
            )
        if queue:
            target[_C_QUEUE] = queue
        else:
            target[_C_OUTCOME] = b"answered" if answered else b"not_answered"
        if self.pricer is not None and gateway and billsec:
            price = self.pricer(gateway.decode(), destination.decode(), int(billsec))
            if price is not None:
                for index, part in zip(_C_PRICE, price, strict=True):
                    if text := str(part).encode():
                        target[index] = text
