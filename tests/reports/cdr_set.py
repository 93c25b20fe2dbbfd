"""Hand-made CDRs for the queue, agent and DID reports, and a seeded random set.

The hand-made day is 2026-03-10 in Europe/Berlin (UTC+1): 2026-03-09T23:00Z..2026-03-10T23:00Z.
Every figure the tests expect is worked out from these rows in the tests' comments.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from callcenter.db.models import (
    AgentStateChange,
    Call,
    CallLeg,
    Disposition,
    QualityScore,
    QueueWait,
)
from callcenter.reports.model import Granularity, ReportRequest
from callcenter.reports.periods import resolve

TENANT = "acme"
TZ = "Europe/Berlin"


def z(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def request(
    start: str, end: str | None = None, granularity: Granularity = Granularity.TOTAL, **kw: Any
) -> ReportRequest:
    lo, hi = resolve(start, end or start, TZ)
    return ReportRequest(tenant=TENANT, start=lo, end=hi, tz=TZ, granularity=granularity, **kw)


class Cdrs:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.waits: list[dict[str, Any]] = []
        self.legs: list[dict[str, Any]] = []
        self.states: list[dict[str, Any]] = []
        self.codes: list[dict[str, Any]] = []
        self.scores: list[dict[str, Any]] = []

    def call(self, uuid: str, started: datetime, **kw: Any) -> None:
        row: dict[str, Any] = {c: None for c in Call.__table__.c.keys()}  # noqa: SIM118
        row.update(call_uuid=uuid, tenant=TENANT, started_at=started, direction="inbound")
        row.update(kw)
        self.calls.append(row)

    def wait(self, uuid: str, queue: str, enqueued: datetime, **kw: Any) -> None:
        row: dict[str, Any] = {c: None for c in QueueWait.__table__.c.keys()}  # noqa: SIM118
        row.update(call_uuid=uuid, queue=queue, tenant=TENANT, enqueued_at=enqueued, **kw)
        self.waits.append(row)

    def leg(self, uuid: str, n: int, agent: str, created: datetime, **kw: Any) -> None:
        row: dict[str, Any] = {c: None for c in CallLeg.__table__.c.keys()}  # noqa: SIM118
        row.update(leg_uuid=f"{uuid}-{n}", call_uuid=uuid, tenant=TENANT, role="agent")
        row.update(agent=agent, created_at=created, **kw)
        self.legs.append(row)

    def state(
        self,
        agent: str,
        at: datetime,
        status: str,
        reason: str | None = None,
        call_uuid: str | None = None,
    ) -> None:
        n = len(self.states)
        stream_id = f"{int(at.timestamp() * 1000)}-{n}"
        self.states.append(
            {"tenant": TENANT, "stream_id": stream_id, "agent": agent, "status": status,
             "previous": None, "reason": reason, "call_uuid": call_uuid, "at": at}
        )  # fmt: skip

    def code(self, uuid: str, code: str, at: datetime) -> None:
        self.codes.append(
            {"call_uuid": uuid, "tenant": TENANT, "code": code, "set_by": "x", "set_at": at}
        )

    def score(self, uuid: str, agent: str, score: int, at: datetime) -> None:
        self.scores.append(
            {"call_uuid": uuid, "tenant": TENANT, "queue": None, "agent": agent, "score": score,
             "reasons": [], "scored_at": at}
        )  # fmt: skip

    def write(self, engine: Engine) -> None:
        with engine.begin() as conn:
            for model, rows in (
                (Call, self.calls), (QueueWait, self.waits), (CallLeg, self.legs),
                (AgentStateChange, self.states), (Disposition, self.codes),
                (QualityScore, self.scores),
            ):  # fmt: skip
                if rows:
                    conn.execute(insert(model), rows)


def hand_made() -> Cdrs:
    s = Cdrs()
    # The day before: +491 calls +100 once (so it is no first-time caller on the 10th).
    s.call("c0", z("2026-03-09T10:00:00"), did="+100", campaign="spring", caller_number="+491",
           outcome="ended")  # fmt: skip
    # C1: sales, waited 12 s, a2 rejected the offer, a1 answered: talk 60 s, hold 5 s; a sale.
    t = z("2026-03-10T09:00:00")
    s.call("c1", t, did="+100", campaign="spring", caller_number="+491", queue="sales",
           agent="a1", wait_ms=12000, talk_ms=60000, hold_ms=5000, outcome="answered")  # fmt: skip
    s.wait("c1", "sales", t, wait_ms=12000, outcome="answered", agent="a1")
    s.leg("c1", 1, "a2", t, hangup_cause="CALL_REJECTED")
    s.leg("c1", 2, "a1", t, answered_at=t, billsec=60, hold_ms=5000, hangup_cause="NORMAL_CLEARING")
    s.code("c1", "sale", t)
    s.score("c1", "a1", 80, t)
    # C2: abandoned after 30 s while ringing a2 (a2's leg cancelled: no miss for a2).
    t = z("2026-03-10T09:10:00")
    s.call("c2", t, did="+100", campaign="spring", caller_number="+492", queue="sales",
           wait_ms=30000, outcome="abandoned")  # fmt: skip
    s.wait("c2", "sales", t, wait_ms=30000, outcome="abandoned")
    s.leg("c2", 1, "a2", t, hangup_cause="ORIGINATOR_CANCEL")
    # C3: a short abandon (3 s) by +491.
    t = z("2026-03-10T09:20:00")
    s.call("c3", t, did="+100", campaign="spring", caller_number="+491", queue="sales",
           wait_ms=3000, outcome="abandoned")  # fmt: skip
    s.wait("c3", "sales", t, wait_ms=3000, outcome="abandoned")
    # C4: overflowed from sales after 40 s to support, answered there by a2 after 10 s.
    t = z("2026-03-10T10:00:00")
    s.call("c4", t, did="+200", caller_number="+493", queue="support", agent="a2",
           wait_ms=10000, talk_ms=30000, outcome="answered")  # fmt: skip
    s.wait("c4", "sales", t, wait_ms=40000, outcome="overflowed", overflow_to="support")
    s.wait("c4", "support", t + timedelta(seconds=40), wait_ms=10000, outcome="answered",
           agent="a2", came_from="sales")  # fmt: skip
    s.leg("c4", 1, "a2", t, answered_at=t, billsec=30)
    # C5: across midnight (23:59 Berlin on the 10th, ends on the 11th): belongs to the 10th.
    t = z("2026-03-10T22:59:00")
    s.call("c5", t, did="+200", caller_number="+494", queue="support", agent="a1",
           wait_ms=5000, talk_ms=120000, outcome="answered",
           ended_at=t + timedelta(minutes=3))  # fmt: skip
    s.wait("c5", "support", t, wait_ms=5000, outcome="answered", agent="a1")
    s.leg("c5", 1, "a1", t, answered_at=t, billsec=120)
    # C6: sales, answered by a1 after exactly 20 s, transferred to a2 (a1 40 s, a2 50 s).
    t = z("2026-03-10T12:00:00")
    s.call("c6", t, did="+100", campaign="spring", caller_number="+495", queue="sales",
           agent="a2", wait_ms=20000, talk_ms=90000, outcome="answered")  # fmt: skip
    s.wait("c6", "sales", t, wait_ms=20000, outcome="answered", agent="a1")
    s.leg("c6", 1, "a1", t, answered_at=t, billsec=40)
    s.leg("c6", 2, "a2", t, answered_at=t, billsec=50)
    s.code("c6", "info", t)
    # C8: an outbound call by a1.
    s.call("c8", z("2026-03-10T14:00:00"), direction="outbound", agent="a1", gateway="gw1",
           caller_number="+100", outcome="answered")  # fmt: skip
    # C9: a callback requested after 50 s in sales.
    t = z("2026-03-10T15:00:00")
    s.call("c9", t, did="+100", campaign="spring", caller_number="+496", queue="sales",
           wait_ms=50000, outcome="callback_requested")  # fmt: skip
    s.wait("c9", "sales", t, wait_ms=50000, outcome="callback_requested")
    # a1: break (login) 30 min, ready, a call, wrap-up 30 s, lunch 30 min, ready, logged out.
    for at, status, reason in (
        ("08:00:00", "on_break", "login"), ("08:30:00", "available", None),
        ("09:00:10", "on_call", None), ("09:01:15", "wrap_up", None),
        ("09:01:45", "available", None), ("09:30:00", "on_break", "lunch"),
        ("10:00:00", "available", None), ("17:00:00", "logged_out", None),
    ):  # fmt: skip
        s.state("a1", z(f"2026-03-10T{at}"), status, reason)
    s.state("a2", z("2026-03-10T09:00:00"), "available")
    s.state("a2", z("2026-03-10T17:00:00"), "logged_out")
    return s


def random_set(seed: int, calls: int = 400) -> Cdrs:
    """Calls spread over 2026-03-27..2026-03-31 (across the spring DST change in Berlin)."""
    rng = random.Random(seed)
    s = Cdrs()
    base = z("2026-03-27T00:00:00")
    queues, agents = ["sales", "support", "vip"], ["a1", "a2", "a3", "a4"]
    dids = [("+100", "spring"), ("+200", None), ("+300", "radio")]
    for n in range(calls):
        uuid = f"r{n}"
        t = base + timedelta(seconds=rng.randrange(5 * 86400))
        did, campaign = rng.choice(dids)
        queue, agent = rng.choice(queues), rng.choice(agents)
        wait = rng.randrange(0, 90_000)
        outcome = rng.choice(["answered", "answered", "abandoned", "overflowed",
                              "callback_requested"])  # fmt: skip
        talk = rng.randrange(1, 600_000) if outcome == "answered" else None
        s.call(uuid, t, did=did, campaign=campaign, caller_number=f"+49{rng.randrange(60)}",
               queue=queue, agent=agent if talk else None, wait_ms=wait, talk_ms=talk,
               hold_ms=rng.choice([None, 0, 4000]),
               direction=rng.choice(["inbound", "inbound", "callback", "outbound"]),
               outcome=outcome)  # fmt: skip
        if outcome == "overflowed":
            s.wait(uuid, queue, t, wait_ms=wait, outcome="overflowed")
            s.wait(uuid, "vip" if queue != "vip" else "sales", t, wait_ms=wait // 2,
                   outcome="answered", came_from=queue)  # fmt: skip
        else:
            s.wait(uuid, queue, t, wait_ms=wait, outcome=outcome)
        for i in range(rng.randrange(3)):
            answered = t if rng.random() < 0.5 else None
            s.leg(uuid, i, rng.choice(agents), t, answered_at=answered,
                  billsec=rng.randrange(200) if answered else None,
                  hold_ms=rng.choice([None, 1000]),
                  hangup_cause=rng.choice(["NO_ANSWER", "CALL_REJECTED", "ORIGINATOR_CANCEL",
                                           "NORMAL_CLEARING", None]))  # fmt: skip
        if rng.random() < 0.3:
            s.code(uuid, rng.choice(["sale", "info", "spam"]), t)
        if talk and rng.random() < 0.5:
            s.score(uuid, rng.choice(agents), rng.randrange(101), t)
        if talk and rng.random() < 0.6:
            # The agent's wrap-up after the call, then ready again (or a break).
            done = t + timedelta(milliseconds=wait + talk)
            s.state(agent, done, "wrap_up", call_uuid=uuid)
            s.state(agent, done + timedelta(seconds=rng.randrange(1, 120)),
                    rng.choice(["available", "on_break"]))  # fmt: skip
    for agent in agents:
        t = base
        while t < base + timedelta(days=5):
            t += timedelta(seconds=rng.randrange(60, 4 * 3600))
            status = rng.choice(["available", "on_break", "on_call", "wrap_up", "reserved"])
            s.state(agent, t, status, rng.choice(["lunch", "training", None]))
    return s
