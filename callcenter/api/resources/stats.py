"""Figures for the wallboard and the supervisor's page: a day's per-queue counters (from the
ACD in Redis), per-agent figures and calls per hour (from the call records). Full reports are
another resource's."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from datetime import date as Day

from pydantic import BaseModel, ConfigDict, Field, model_validator

from callcenter.acd.errors import UnknownQueueError
from callcenter.api.resources.calls import handled_by
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.calls import history
from callcenter.calls.history import AgentFigures, HourFigures
from callcenter.users.model import Role

__all__ = [
    "AgentStats",
    "AgentStatsQuery",
    "DayQuery",
    "HourlyStats",
    "QueueFigures",
    "QueueStats",
    "routes",
]

routes = RouteTable("stats")
STATS = "/api/v1/tenants/{tenant}/stats"


def _today() -> Day:
    return datetime.now(UTC).date()


class DayQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # A UTC day, YYYY-MM-DD (today by default; the ACD keeps a queue's day 40 days).
    date: Day | None = None


class QueueFigures(BaseModel):
    queue: str
    offered: int
    answered: int
    answered_in_sl: int
    abandoned: int
    abandoned_in_sl: int
    ended: int
    wait_ms: int
    talk_ms: int
    # % answered within the service level (of those answered and abandoned after it).
    service_level: float
    avg_wait_s: float
    avg_talk_s: float


class QueueStats(BaseModel):
    date: str
    queues: list[QueueFigures]


class AgentStatsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # Calls that started in [from, to) (a day means its midnight; without a zone, UTC).
    # Default: from the start of to's day (UTC) until now.
    since: datetime | None = Field(None, alias="from")
    until: datetime | None = Field(None, alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> AgentStatsQuery:
        if self.since is not None and self.until is not None and self.until <= self.since:
            raise ValueError("'to' must be after 'from'")
        return self


class AgentStats(BaseModel):
    since: datetime
    until: datetime
    agents: list[AgentFigures]


class HourlyStats(BaseModel):
    date: str
    hours: list[HourFigures]


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@routes.get(
    STATS + "/queues",
    summary="A day's figures per queue (today by default, UTC)",
    role=Role.AGENT,
    query=DayQuery,
    response=QueueStats,
)
async def queue_stats(call: ApiCall) -> QueueStats:
    assert call.tenant is not None
    day = call.query(DayQuery).date or _today()
    store = call.ctx.store(call.tenant)
    out = []
    names = sorted(q.decode() for q in await store.redis.smembers(store.keys.queues))
    for name in names:
        try:
            figures = await store.queue_stats(name, day.isoformat())
        except UnknownQueueError:  # removed meanwhile
            continue
        out.append(QueueFigures.model_validate({"queue": name, **figures}))
    return QueueStats(date=day.isoformat(), queues=out)


@routes.get(
    STATS + "/agents",
    summary="Per agent: calls, answered, talk time, average handle time (call records)",
    role=Role.AGENT,
    query=AgentStatsQuery,
    response=AgentStats,
)
async def agent_stats(call: ApiCall) -> AgentStats:
    assert call.tenant is not None
    query = call.query(AgentStatsQuery)
    until = _utc(query.until) if query.until is not None else datetime.now(UTC)
    since = (
        _utc(query.since)
        if query.since is not None
        else datetime.combine(until.date(), time(), tzinfo=UTC)
    )
    if since >= until:  # "to" given as a midnight and no "from": that whole day before
        since = until - timedelta(days=1)
    agent = handled_by(call)  # an agent: their own row only
    rows = await call.ctx.db(
        history.agent_figures,
        call.ctx.engine,
        tenant=call.tenant,
        since=since,
        until=until,
        agent=agent,
    )
    return AgentStats(since=since, until=until, agents=rows)


@routes.get(
    STATS + "/hourly",
    summary="Calls per hour of a day (UTC), for the wallboard chart",
    role=Role.AGENT,
    query=DayQuery,
    response=HourlyStats,
)
async def hourly(call: ApiCall) -> HourlyStats:
    assert call.tenant is not None
    day = call.query(DayQuery).date or _today()
    hours = await call.ctx.db(history.hourly_calls, call.ctx.engine, tenant=call.tenant, day=day)
    return HourlyStats(date=day.isoformat(), hours=hours)
