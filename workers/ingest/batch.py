"""Stream entries to rows: one batch of a tenant's events folded into the rows they touch.

Every row is keyed by what the switch or the controller named it (call UUID, leg UUID, call and
queue, Stream entry ID), and a column takes the last value an event gave it, so folding the same
entries twice, or in two batches, gives the same rows: the writer merges a batch into what the
database holds with the same rule.

A row is a list of its table's values in the order of ``*_COLUMNS``, each one text as the
database takes it, "" for no value (NULL): numbers keep the digits the Stream had (checked, not
converted), times stay epoch milliseconds for the database to convert. The writer joins the
rows into COPY text as they are, and the fold sets a column by its index: this is the hot loop
of the ingest (every Stream entry goes through it), hence the merges written out below.
``typed`` gives a row's values as Python values, to read a batch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = [
    "AGENT_STATE_COLUMNS",
    "CALL_COLUMNS",
    "CALL_FIRST",
    "LEG_COLUMNS",
    "WAIT_COLUMNS",
    "WAIT_FIRST",
    "Batch",
    "Row",
    "stream_id_key",
    "typed",
]

Row = list[str]

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
_L_NODE, _L_CALLER_NUMBER = LEG_COLUMNS.index("node"), LEG_COLUMNS.index("caller_number")
_L_DESTINATION, _L_CREATED = LEG_COLUMNS.index("destination"), LEG_COLUMNS.index("created_at")
_L_ANSWERED, _L_ENDED = LEG_COLUMNS.index("answered_at"), LEG_COLUMNS.index("ended_at")
_L_DURATION, _L_HOLD_MS = LEG_COLUMNS.index("duration"), LEG_COLUMNS.index("hold_ms")
_L_CAUSE = LEG_COLUMNS.index("hangup_cause")
# A new row: its key and tenant, then nothing yet.
_CALL_EMPTY = ("",) * (len(CALL_COLUMNS) - 2)
_WAIT_EMPTY = ("",) * (len(WAIT_COLUMNS) - 3)

# Columns whose text is a number: an integer (times are epoch ms), or a decimal.
_INTEGERS = frozenset({
    "started_at", "answered_at", "bridged_at", "ended_at", "created_at", "enqueued_at",
    "offered_at", "left_at", "at", "wait_ms", "talk_ms", "hold_ms", "billsec", "duration",
    "position",
})  # fmt: skip
_DECIMALS = frozenset({"rate_per_minute", "cost"})

# Who hung up, from the caller leg's SIP disposition: the far end's BYE/CANCEL is the caller.
_REMOTE = ("recv_bye", "recv_cancel", "recv_refuse")

# queue_waits.outcome by the call state that ends a stay in a queue.
_WAIT_OUTCOME = {
    "bridged": "answered",
    "abandoned": "abandoned",
    "overflowed": "overflowed",
    "callback_requested": "callback_requested",
    "callback_failed": "callback_failed",
}


def _int(value: str) -> str:
    """An integer field as the database takes it, "" when it is not one. Plain ASCII digits
    (nearly always) pass as they are; anything else goes through int() (other digits, a sign;
    it raises on what int() refuses) and is written as int() reads it."""
    if value.isdigit() and value.isascii() and len(value) < 19:
        return value
    return str(int(value)) if value.lstrip("-").isdigit() else ""


def _ms(text: str | None) -> str:
    """An epoch-ms time as the writer takes it (PostgreSQL converts it), "" when unset."""
    if not text or text == "0" or not text.isdigit():
        return ""
    return _int(text)


def _nonzero(number: str) -> bool:
    return number.strip("0") != ""


def stream_id_key(stream_id: str) -> tuple[int, int]:
    """Stream IDs ("<ms>-<seq>") in their order (as strings, "9-0" would sort after "10-0")."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def typed(columns: Sequence[str], row: Sequence[str]) -> dict[str, Any]:
    """A row's values by column as Python values: int, Decimal, str, None for no value."""
    out: dict[str, Any] = {}
    for name, value in zip(columns, row, strict=True):
        if value == "":
            out[name] = None
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
    call_rows: dict[str, Row] = field(default_factory=dict)  # CALL_COLUMNS
    leg_rows: dict[str, Row] = field(default_factory=dict)  # LEG_COLUMNS
    wait_rows: dict[tuple[str, str], Row] = field(default_factory=dict)  # WAIT_COLUMNS
    # Stream ID -> the row's values in AGENT_STATE_COLUMNS order.
    agent_states: dict[str, tuple[str, ...]] = field(default_factory=dict)
    recordings: dict[str, str] = field(default_factory=dict)  # call -> file the switch wrote
    ended_calls: set[str] = field(default_factory=set)  # caller legs that ended in this batch
    entries: int = 0
    skipped: int = 0

    @property
    def rows(self) -> int:
        return (
            len(self.call_rows) + len(self.leg_rows) + len(self.wait_rows) + len(self.agent_states)
        )

    # The rows as Python values by column, to read a batch (the writer takes the text rows).
    @property
    def calls(self) -> dict[str, dict[str, Any]]:
        return {key: typed(CALL_COLUMNS, row) for key, row in self.call_rows.items()}

    @property
    def legs(self) -> dict[str, dict[str, Any]]:
        return {key: typed(LEG_COLUMNS, row) for key, row in self.leg_rows.items()}

    @property
    def waits(self) -> dict[tuple[str, str], dict[str, Any]]:
        return {key: typed(WAIT_COLUMNS, row) for key, row in self.wait_rows.items()}

    def add(self, stream_id: str, f: Mapping[str, str]) -> None:
        """Fold one Stream entry in; an entry of an unknown type, or without what its type
        needs, is counted as skipped (an old or newer controller may write other kinds)."""
        if not f:
            self.entries += 1
            self.skipped += 1
            return
        self.add_flat(((stream_id, [x for kv in f.items() for x in kv]),))

    def add_flat(self, entries: Iterable[tuple[str, Sequence[str] | None]]) -> None:
        """Fold Stream entries as XREADGROUP returns them: the ID and the flat field list
        (field, value, field, value...). An entry without fields (a pending entry the Stream's
        cap trimmed away) is left out."""
        tenant = self.tenant
        agent_states = self.agent_states
        call_event, leg_event, recordings = self._call_event, self._leg, self.recordings
        added = skipped = 0
        for stream_id, flat in entries:
            if not flat:
                continue
            added += 1
            it = iter(flat)
            f = dict(zip(it, it, strict=True))
            kind = f.get("type")
            try:
                # By how often each comes: agent states, call states, legs, recordings.
                if kind == "agent":
                    at = _ms(f.get("ts"))
                    if not at or at[0] == "0":  # unset, or maybe all zeros
                        at = at if at and _nonzero(at) else str(int(stream_id.split("-", 1)[0]))
                    agent_states[stream_id] = (
                        tenant,
                        stream_id,
                        f["agent"],
                        f["status"],
                        f.get("previous", ""),
                        f.get("reason", ""),
                        f.get("call", ""),
                        at,
                    )
                elif kind == "call":
                    call_event(f)
                elif kind == "leg":
                    leg_event(f)
                elif kind == "recording":
                    if f["call"] and f["path"]:
                        recordings[f["call"]] = f["path"]
                else:
                    skipped += 1
            except (KeyError, ValueError):
                skipped += 1
        self.entries += added
        self.skipped += skipped

    def _call(self, call: str) -> Row:
        row = self.call_rows.get(call)
        if row is None:
            row = self.call_rows[call] = [call, self.tenant, *_CALL_EMPTY]
        return row

    def _call_event(self, f: Mapping[str, str]) -> None:
        call, state, queue = f["call"], f["state"], f.get("queue", "")
        at = _ms(f.get("ts"))
        if not call:
            raise ValueError("call event without a call")
        if not queue:
            return
        waits = self.wait_rows
        wait = waits.get((call, queue))
        if wait is None:
            wait = waits[(call, queue)] = [call, queue, self.tenant, *_WAIT_EMPTY]
        # A value merges in unless it is "": a "first" column only while it has none.
        if state == "waiting":
            position = _int(f.get("position", ""))
            if at and not wait[_W_ENQUEUED]:
                wait[_W_ENQUEUED] = at
            if position and not wait[_W_POSITION]:
                wait[_W_POSITION] = position
            if came_from := f.get("came_from"):
                wait[_W_CAME_FROM] = came_from
            self._call(call)[_C_QUEUE] = queue
        elif state == "offering":
            if at and not wait[_W_OFFERED]:
                wait[_W_OFFERED] = at
        elif state == "answered":
            wait_ms = _int(f.get("wait_ms", ""))
            row = self._call(call)
            if wait_ms:
                wait[_W_WAIT_MS] = row[_C_WAIT_MS] = wait_ms
        elif state in _WAIT_OUTCOME:
            outcome = _WAIT_OUTCOME[state]
            wait_ms = _int(f.get("wait_ms", "")) if state == "abandoned" else ""
            row = self._call(call)
            row[_C_OUTCOME] = wait[_W_OUTCOME] = outcome
            if at:
                wait[_W_LEFT] = at
            if state == "bridged":
                row[_C_QUEUE] = queue
                if agent := f.get("agent"):
                    row[_C_AGENT] = wait[_W_AGENT] = agent
                if at:
                    row[_C_BRIDGED] = wait[_W_ANSWERED] = at
            elif state == "abandoned":
                row[_C_QUEUE] = queue
                if wait_ms:
                    row[_C_WAIT_MS] = wait[_W_WAIT_MS] = wait_ms
            elif state == "overflowed" and (to := f.get("to")):
                wait[_W_OVERFLOW_TO] = to
        elif state == "ended":
            talk_ms = _int(f.get("talk_ms", ""))
            row = self._call(call)
            if talk_ms:
                row[_C_TALK_MS] = talk_ms

    def _leg(self, f: Mapping[str, str]) -> None:
        leg, call, role = f["leg"], f["call"], f.get("role") or "other"
        if not leg or not call:
            raise ValueError("leg without a UUID")
        disposition = f.get("disposition", "")
        remote = disposition in _REMOTE
        billsec = _int(f.get("billsec", ""))
        row: Row = [
            leg,
            call,
            self.tenant,
            f.get("node", ""),
            role,
            f.get("agent", ""),
            f.get("channel", ""),
            f.get("caller_number", ""),
            f.get("destination", ""),
            f.get("gateway", ""),
            _ms(f.get("created_ms")),
            _ms(f.get("answered_ms")),
            _ms(f.get("ended_ms")),
            billsec,
            _int(f.get("duration", "")),
            _int(f.get("hold_ms", "")),
            f.get("cause", ""),
            ("remote" if remote else "local") if disposition else "",
        ]
        # The leg's last report in a batch is the one that counts (the merge with the database
        # keeps what it does not name).
        self.leg_rows[leg] = row
        if role != "caller":
            return
        self.ended_calls.add(call)
        did, gateway, queue = f.get("did"), f.get("gateway"), f.get("queue")
        if did:
            direction = "inbound"
        elif gateway and not queue:
            direction = "outbound"
        else:
            direction = "internal"
        # The caller hung up (their BYE), else the agent or callee did when there was a bridge,
        # else the center did (a transfer, an overflow, a prompt that ended).
        side = "caller" if remote else ("agent" if f.get("bridged_to") else "system")
        answered = row[_L_ANSWERED]
        values: list[tuple[int, str | None]] = [
            (_C_NODE, row[_L_NODE]),
            (_C_DIRECTION, direction),
            (_C_CALLER_NUMBER, row[_L_CALLER_NUMBER]),
            (_C_CALLER_NAME, f.get("caller_name")),
            (_C_DESTINATION, row[_L_DESTINATION]),
            (_C_DID, did),
            (_C_CAMPAIGN, f.get("campaign")),
            (_C_GATEWAY, gateway),
            (_C_ANSWERED, answered),
            (_C_ENDED, row[_L_ENDED]),
            (_C_BILLSEC, billsec),
            (_C_DURATION, row[_L_DURATION]),
            (_C_HOLD_MS, row[_L_HOLD_MS]),
            (_C_CAUSE, row[_L_CAUSE]),
            (_C_SIDE, side if disposition else ""),
        ]
        if queue:
            values.append((_C_QUEUE, queue))
        else:
            outcome = "answered" if answered and _nonzero(answered) else "not_answered"
            values.append((_C_OUTCOME, outcome))
        if self.pricer is not None and gateway and billsec:
            price = self.pricer(gateway, row[_L_DESTINATION], int(billsec))
            if price is not None:
                values += zip(_C_PRICE, (str(value) for value in price), strict=True)
        target = self._call(call)
        if row[_L_CREATED] and not target[_C_STARTED]:
            target[_C_STARTED] = row[_L_CREATED]
        for index, value in values:
            if value:
                target[index] = value
