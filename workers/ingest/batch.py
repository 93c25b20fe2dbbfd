"""Stream entries to rows: one batch of a tenant's events folded into the rows they touch.

Times stay epoch milliseconds (ints) here, as the Stream has them: the writer hands them to the
database to convert (DateTime columns), which is cheaper than building datetimes in Python.

Every row is keyed by what the switch or the controller named it (call UUID, leg UUID, call and
queue, Stream entry ID), and a column takes the last value an event gave it, so folding the same
entries twice, or in two batches, gives the same rows: the writer merges a batch into what the
database holds with the same rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

__all__ = ["AGENT_STATE_COLUMNS", "CALL_FIRST", "WAIT_FIRST", "Batch", "Row", "stream_id_key"]

Row = dict[str, Any]

AGENT_STATE_COLUMNS = (
    "tenant", "stream_id", "agent", "status", "previous", "reason", "call_uuid", "at",
)  # fmt: skip

# Columns that keep the first value they got (an arrival time is not moved by a later event).
CALL_FIRST = frozenset({"started_at"})
WAIT_FIRST = frozenset({"enqueued_at", "offered_at", "position"})

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


def _ms(text: str | None) -> int | None:
    """An epoch-ms time as the writer takes it (PostgreSQL converts it), None when unset."""
    if not text or text == "0" or not text.isdigit():
        return None
    return int(text)


def _int(value: str) -> int | None:
    return int(value) if value.lstrip("-").isdigit() else None


def stream_id_key(stream_id: str) -> tuple[int, int]:
    """Stream IDs ("<ms>-<seq>") in their order (as strings, "9-0" would sort after "10-0")."""
    ms, _, seq = stream_id.partition("-")
    return int(ms), int(seq or 0)


def _stream_ms(stream_id: str) -> int:
    return int(stream_id.split("-", 1)[0])


def _merge(target: Row, values: Mapping[str, Any], first: frozenset[str]) -> None:
    for name, value in values.items():
        if value is None or value == "":
            continue
        if name in first and target.get(name) is not None:
            continue
        target[name] = value


Pricer = Callable[[str, str, int], tuple[str, Decimal, Decimal] | None]


@dataclass
class Batch:
    """The rows one batch of a tenant's Stream entries touches."""

    tenant: str
    # (gateway, number, billsec) -> (prefix, rate per minute, cost), or None when unpriced.
    pricer: Pricer | None = None
    calls: dict[str, Row] = field(default_factory=dict)
    legs: dict[str, Row] = field(default_factory=dict)
    waits: dict[tuple[str, str], Row] = field(default_factory=dict)
    # Stream ID -> the row's values in AGENT_STATE_COLUMNS order (appended as they come: the
    # most frequent entry, kept cheap).
    agent_states: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    recordings: dict[str, str] = field(default_factory=dict)  # call -> file the switch wrote
    ended_calls: set[str] = field(default_factory=set)  # caller legs that ended in this batch
    entries: int = 0
    skipped: int = 0

    @property
    def rows(self) -> int:
        return len(self.calls) + len(self.legs) + len(self.waits) + len(self.agent_states)

    def add(self, stream_id: str, f: Mapping[str, str]) -> None:
        """Fold one Stream entry in; an entry of an unknown type, or without what its type
        needs, is counted as skipped (an old or newer controller may write other kinds)."""
        self.entries += 1
        kind = f.get("type")
        try:
            if kind == "call":
                self._call_event(f)
            elif kind == "agent":
                self._agent_event(stream_id, f)
            elif kind == "leg":
                self._leg(f)
            elif kind == "recording":
                if f["call"] and f["path"]:
                    self.recordings[f["call"]] = f["path"]
            else:
                self.skipped += 1
        except (KeyError, ValueError):
            self.skipped += 1

    def _call(self, call: str) -> Row:
        row = self.calls.get(call)
        if row is None:
            row = self.calls[call] = {"call_uuid": call, "tenant": self.tenant}
        return row

    def _wait(self, call: str, queue: str) -> Row:
        row = self.waits.get((call, queue))
        if row is None:
            row = self.waits[(call, queue)] = {
                "call_uuid": call,
                "queue": queue,
                "tenant": self.tenant,
            }
        return row

    def _call_event(self, f: Mapping[str, str]) -> None:
        call, state, queue = f["call"], f["state"], f.get("queue", "")
        at = _ms(f.get("ts"))
        if not call:
            raise ValueError("call event without a call")
        if not queue:
            return
        wait = self._wait(call, queue)
        if state == "waiting":
            _merge(
                wait,
                {
                    "enqueued_at": at,
                    "position": _int(f.get("position", "")),
                    "came_from": f.get("came_from"),
                },
                WAIT_FIRST,
            )
            _merge(self._call(call), {"queue": queue}, CALL_FIRST)
        elif state == "offering":
            _merge(wait, {"offered_at": at}, WAIT_FIRST)
        elif state == "answered":
            _merge(wait, {"wait_ms": _int(f.get("wait_ms", ""))}, WAIT_FIRST)
            _merge(self._call(call), {"wait_ms": _int(f.get("wait_ms", ""))}, CALL_FIRST)
        elif state in _WAIT_OUTCOME:
            outcome = _WAIT_OUTCOME[state]
            values: Row = {"outcome": outcome, "left_at": at}
            if state == "bridged":
                values.update(answered_at=at, agent=f.get("agent"))
                _merge(
                    self._call(call),
                    {"queue": queue, "agent": f.get("agent"), "bridged_at": at, "outcome": outcome},
                    CALL_FIRST,
                )
            elif state == "abandoned":
                values["wait_ms"] = _int(f.get("wait_ms", ""))
                _merge(
                    self._call(call),
                    {"queue": queue, "wait_ms": values["wait_ms"], "outcome": outcome},
                    CALL_FIRST,
                )
            elif state == "overflowed":
                values["overflow_to"] = f.get("to")
                _merge(self._call(call), {"outcome": outcome}, CALL_FIRST)
            else:
                _merge(self._call(call), {"outcome": outcome}, CALL_FIRST)
            _merge(wait, values, WAIT_FIRST)
        elif state == "ended":
            _merge(self._call(call), {"talk_ms": _int(f.get("talk_ms", ""))}, CALL_FIRST)

    def _agent_event(self, stream_id: str, f: Mapping[str, str]) -> None:
        self.agent_states[stream_id] = (
            self.tenant,
            stream_id,
            f["agent"],
            f["status"],
            f.get("previous") or None,
            f.get("reason") or None,
            f.get("call") or None,
            _ms(f.get("ts")) or _stream_ms(stream_id),
        )

    def _leg(self, f: Mapping[str, str]) -> None:
        leg, call, role = f["leg"], f["call"], f.get("role") or "other"
        if not leg or not call:
            raise ValueError("leg without a UUID")
        disposition = f.get("disposition", "")
        remote = disposition in _REMOTE
        billsec = _int(f.get("billsec", ""))
        row: Row = {
            "leg_uuid": leg,
            "call_uuid": call,
            "tenant": self.tenant,
            "node": f.get("node") or None,
            "role": role,
            "agent": f.get("agent") or None,
            "channel": f.get("channel") or None,
            "caller_number": f.get("caller_number") or None,
            "destination": f.get("destination") or None,
            "gateway": f.get("gateway") or None,
            "created_at": _ms(f.get("created_ms")),
            "answered_at": _ms(f.get("answered_ms")),
            "ended_at": _ms(f.get("ended_ms")),
            "billsec": billsec,
            "duration": _int(f.get("duration", "")),
            "hold_ms": _int(f.get("hold_ms", "")),
            "hangup_cause": f.get("cause") or None,
            "hangup_side": ("remote" if remote else "local") if disposition else None,
        }
        self.legs[leg] = row
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
        values: Row = {
            "node": row["node"],
            "direction": direction,
            "caller_number": row["caller_number"],
            "caller_name": f.get("caller_name") or None,
            "destination": row["destination"],
            "did": did or None,
            "campaign": f.get("campaign") or None,
            "gateway": gateway or None,
            "started_at": row["created_at"],
            "answered_at": row["answered_at"],
            "ended_at": row["ended_at"],
            "billsec": billsec,
            "duration": row["duration"],
            "hold_ms": row["hold_ms"],
            "hangup_cause": row["hangup_cause"],
            "hangup_side": side if disposition else None,
        }
        if queue:
            values["queue"] = queue
        else:
            values["outcome"] = "answered" if row["answered_at"] else "not_answered"
        if self.pricer is not None and gateway and billsec is not None:
            price = self.pricer(gateway, row["destination"] or "", billsec)
            if price is not None:
                values["rate_prefix"], values["rate_per_minute"], values["cost"] = price
        _merge(self._call(call), values, CALL_FIRST)
