"""Stream entries to webhook events.

Most events are one entry each: ``queued`` (call state ``waiting``), ``ringing``
(``offering``), ``answered``, ``abandoned``, ``disposition``, ``agent_status`` (an ``agent``
entry). The caller's number and name come from the ACD's record of the call (the call state
entries do not carry them).

``ended`` gathers several: the caller's ``leg`` (times, DID, hangup cause, written when the
channel is gone) and the call states that tell the wait and the talk time (``answered``,
``ended``, ``abandoned``). The controller writes the leg and the final call state from two
handlers of the same hangup, in either order, so what is known of a call is kept in a small
Redis hash of our own (``<base>:webhooks:call:<id>``) and ``ended`` goes out once both are
there, or ``grace_ms`` after the leg when the final state never comes (a controller died, a
caller who asked for a callback hung up). Every write is a plain set: reading an entry twice
gives the same hash.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from redis import Redis

from callcenter.acd.keys import Keys
from callcenter.crm.events import CrmEvent
from callcenter.crm.payloads import WebhookEvent, build_event, iso_ms

__all__ = ["ENDED_GRACE_MS", "Fold"]

# How long after the caller's leg the call's final state may still come.
ENDED_GRACE_MS = 5_000
# What we know of a call is kept this long after its last entry.
_CALL_TTL_SECONDS = 2 * 86_400
# The far end's BYE/CANCEL (sofia's point of view): the caller hung up.
_REMOTE = ("recv_bye", "recv_cancel", "recv_refuse")


def _int(text: str | None) -> int | None:
    if text and text.lstrip("-").isdigit():
        return int(text)
    return None


@dataclass
class Fold:
    """The events of one run over a tenant's Stream (``wanted``: what some webhook takes)."""

    redis: Redis
    tenant: str
    wanted: frozenset[CrmEvent]
    grace_ms: int = ENDED_GRACE_MS
    events: list[WebhookEvent] = field(default_factory=list)
    _ended: set[str] = field(default_factory=set)  # calls whose ``ended`` is in ``events``

    def __post_init__(self) -> None:
        self.keys = Keys(self.tenant)
        self.ending = f"{self.keys.base}:webhooks:ending"  # ZSET call -> when to give up waiting

    def _acc(self, call: str) -> str:
        return f"{self.keys.base}:webhooks:call:{call}"

    # -- entries --------------------------------------------------------------------------------

    def add(self, entries: Iterable[tuple[str, Mapping[str, str]]]) -> None:
        """Fold entries in Stream order; an entry of another kind, or without what its kind
        needs, is passed over (other writers add kinds of their own)."""
        for stream_id, f in entries:
            kind = f.get("type")
            at = _int(f.get("ts")) or int(stream_id.split("-", 1)[0])
            try:
                if kind == "call":
                    self._call(stream_id, f, at)
                elif kind == "leg" and f.get("role", "caller") == "caller":
                    self._leg(f, at)
                elif kind == "agent" and CrmEvent.AGENT_STATUS in self.wanted:
                    self._emit(
                        CrmEvent.AGENT_STATUS,
                        stream_id,
                        at,
                        {
                            "agent": f["agent"],
                            "status": f["status"],
                            "previous": f.get("previous"),
                            "reason": f.get("reason"),
                            "call_id": f.get("call"),
                        },
                    )
                elif kind == "disposition" and CrmEvent.DISPOSITION in self.wanted:
                    self._disposition(stream_id, f, at)
            except (KeyError, ValueError):
                # Malformed: skipped, not retried for ever (it would hold up every later one).
                continue

    def _caller(self, call: str) -> dict[str, Any]:
        """The caller as the ACD recorded them (and the DID, if the controller wrote one)."""
        number, name, did = self.redis.hmget(
            self.keys.call(call), "caller_number", "caller_name", "did"
        )
        return {
            "caller_number": (number or b"").decode(),
            "caller_name": (name or b"").decode(),
            "did": (did or b"").decode(),
        }

    def _emit(self, event: CrmEvent, key: str, at: int, fields: Mapping[str, Any]) -> None:
        self.events.append(build_event(event, tenant=self.tenant, key=key, at_ms=at, fields=fields))

    def _remember(self, call: str, values: Mapping[str, str | int]) -> None:
        if CrmEvent.ENDED not in self.wanted:
            return
        acc = self._acc(call)
        with self.redis.pipeline(transaction=False) as pipe:
            pipe.hset(acc, mapping=dict(values))
            pipe.expire(acc, _CALL_TTL_SECONDS)
            pipe.execute()

    def _call(self, stream_id: str, f: Mapping[str, str], at: int) -> None:
        call, state, queue = f["call"], f["state"], f.get("queue", "")
        if not call:
            return
        common = {"call_id": call, "queue": queue, "agent": f.get("agent")}
        if state == "waiting":
            if queue:
                self._remember(call, {"queue": queue})
            if CrmEvent.QUEUED in self.wanted:
                self._emit(
                    CrmEvent.QUEUED,
                    stream_id,
                    at,
                    {
                        **common,
                        **self._caller(call),
                        "position": _int(f.get("position")),
                        "came_from": f.get("came_from"),
                    },
                )
        elif state == "offering" and CrmEvent.RINGING in self.wanted:
            agents = [a for a in f.get("agents", "").split(",") if a]
            self._emit(
                CrmEvent.RINGING,
                stream_id,
                at,
                {
                    **common,
                    **self._caller(call),
                    "agents": agents,
                    "agent": agents[0] if len(agents) == 1 else None,
                },
            )
        elif state == "answered":
            wait = _int(f.get("wait_ms"))
            self._remember(
                call,
                {
                    "agent": f.get("agent", ""),
                    "answered_ms": at,
                    "wait_ms": "" if wait is None else wait,
                },
            )
            if CrmEvent.ANSWERED in self.wanted:
                self._emit(
                    CrmEvent.ANSWERED,
                    stream_id,
                    at,
                    {**common, **self._caller(call), "wait_ms": wait},
                )
        elif state == "abandoned":
            wait = _int(f.get("wait_ms"))
            self._remember(call, {"terminal": "abandoned", "wait_ms": "" if wait is None else wait})
            if CrmEvent.ABANDONED in self.wanted:
                self._emit(
                    CrmEvent.ABANDONED,
                    stream_id,
                    at,
                    {**common, **self._caller(call), "wait_ms": wait},
                )
            self._end_if_known(call)
        elif state == "ended":
            talk = _int(f.get("talk_ms"))
            self._remember(
                call,
                {
                    "terminal": "ended",
                    "agent": f.get("agent", ""),
                    "talk_ms": "" if talk is None else talk,
                },
            )
            self._end_if_known(call)

    def _disposition(self, stream_id: str, f: Mapping[str, str], at: int) -> None:
        call, code = f["call"], f["code"]
        if not call or not code:
            return
        known = self._known(call)
        leg = json.loads(known.get("leg") or "{}")
        caller = self._caller(call)
        self._emit(
            CrmEvent.DISPOSITION,
            stream_id,
            at,
            {
                "call_id": call,
                "code": code,
                "set_by": f.get("set_by"),
                "caller_number": caller["caller_number"] or leg.get("caller_number"),
                "caller_name": caller["caller_name"] or leg.get("caller_name"),
                "did": caller["did"] or leg.get("did"),
                "queue": known.get("queue") or leg.get("queue"),
                "agent": known.get("agent") or leg.get("agent"),
            },
        )

    # -- ended ----------------------------------------------------------------------------------

    def _known(self, call: str) -> dict[str, str]:
        raw = self.redis.hgetall(self._acc(call))
        return {k.decode(): v.decode() for k, v in raw.items()}

    def _leg(self, f: Mapping[str, str], at: int) -> None:
        call = f["call"]
        if not call or CrmEvent.ENDED not in self.wanted:
            return
        self._remember(call, {"leg": json.dumps(dict(f), separators=(",", ":"))})
        if f.get("queue"):
            # A queued call: its final state tells wait and talk; it may still be on its way.
            if not self._end_if_known(call):
                self.redis.zadd(self.ending, {call: at + self.grace_ms})
        else:
            self._end(call)

    def _end_if_known(self, call: str) -> bool:
        if CrmEvent.ENDED not in self.wanted:
            return False
        known = self._known(call)
        if "leg" in known and "terminal" in known:
            self._end(call, known)
            return True
        return False

    def due(self, now_ms: int) -> None:
        """Queued calls whose final state did not come within the grace time: ended with what
        is known."""
        for raw in self.redis.zrangebyscore(self.ending, "-inf", now_ms):
            self._end(raw.decode())

    def _end(self, call: str, known: dict[str, str] | None = None) -> None:
        known = self._known(call) if known is None else known
        if call in self._ended:
            return
        if known.get("sent") or "leg" not in known:
            # Told already, or forgotten meanwhile (nothing left to tell).
            self.redis.zrem(self.ending, call)
            return
        leg: dict[str, str] = json.loads(known["leg"])
        created, ended = _int(leg.get("created_ms")), _int(leg.get("ended_ms"))
        queued = bool(known.get("queue") or leg.get("queue"))
        answered = _int(known.get("answered_ms")) if queued else _int(leg.get("answered_ms"))
        if known.get("terminal") == "abandoned":
            outcome = "abandoned"
        else:
            outcome = "answered" if answered else "not_answered"
        disposition = leg.get("disposition", "")
        if not disposition:
            side = None
        elif disposition in _REMOTE:
            side = "caller"
        else:
            side = "agent" if leg.get("bridged_to") else "system"
        self._emit(
            CrmEvent.ENDED,
            f"ended:{call}",
            ended or 0,
            {
                "call_id": call,
                "caller_number": leg.get("caller_number"),
                "caller_name": leg.get("caller_name"),
                "did": leg.get("did"),
                "queue": known.get("queue") or leg.get("queue"),
                "agent": known.get("agent") or leg.get("agent"),
                "outcome": outcome,
                "started_at": iso_ms(created),
                "answered_at": iso_ms(answered),
                "ended_at": iso_ms(ended),
                "wait_ms": _int(known.get("wait_ms")),
                "talk_ms": _int(known.get("talk_ms")),
                "duration_ms": ended - created if created and ended else None,
                "billsec": _int(leg.get("billsec")),
                "hangup_cause": leg.get("cause"),
                "hangup_side": side,
            },
        )
        self._ended.add(call)

    def take(self) -> list[WebhookEvent]:
        """The events folded since the last call, in Stream order."""
        events, self.events = self.events, []
        return events

    def sent(self) -> None:
        """The ``ended`` events of this run are queued for delivery: never again for them."""
        if not self._ended:
            return
        with self.redis.pipeline(transaction=False) as pipe:
            for call in self._ended:
                pipe.hset(self._acc(call), "sent", 1)
                pipe.expire(self._acc(call), _CALL_TTL_SECONDS)
            pipe.zrem(self.ending, *self._ended)
            pipe.execute()
        self._ended.clear()
