"""Redis key names. Every key of a tenant carries the tenant as hash tag ``{tenant}``, so one
tenant's keys share a Redis Cluster slot and a Lua script can touch all of them atomically."""

from __future__ import annotations

__all__ = ["Keys"]


class Keys:
    def __init__(self, tenant: str, prefix: str = "cc") -> None:
        if not tenant or any(c in tenant for c in "{}: \r\n"):
            raise ValueError(
                f"tenant name {tenant!r} must be non-empty without '{{}}: ' or newlines"
            )
        self.tenant = tenant
        self.base = f"{prefix}:{{{tenant}}}"

    def agent(self, agent: str) -> str:
        return f"{self.base}:agent:{agent}"

    def agent_skills(self, agent: str) -> str:
        return f"{self.base}:agent:{agent}:skills"

    def agent_queues(self, agent: str) -> str:
        return f"{self.base}:agent:{agent}:queues"

    @property
    def skills(self) -> str:
        """SET of every skill some agent has (a caller needing another one could never be
        served)."""
        return f"{self.base}:skills"

    @property
    def agents(self) -> str:
        return f"{self.base}:agents"

    @property
    def queues(self) -> str:
        return f"{self.base}:queues"

    def queue(self, queue: str) -> str:
        return f"{self.base}:queue:{queue}"

    def queue_tiers(self, queue: str) -> str:
        """HASH agent -> "level:position"."""
        return f"{self.base}:queue:{queue}:tiers"

    def queue_idle(self, queue: str) -> str:
        """ZSET of the queue's available agents, ordered by tier level, then the strategy."""
        return f"{self.base}:queue:{queue}:idle"

    def queue_calls(self, queue: str) -> str:
        """ZSET of waiting call ids, lowest score served first."""
        return f"{self.base}:queue:{queue}:calls"

    def queue_stats(self, queue: str, day: str) -> str:
        """HASH of a queue's counters for one UTC day (YYYY-MM-DD): offered, answered,
        answered_in_sl, abandoned, abandoned_in_sl, wait_ms, talk_ms, ended."""
        return f"{self.base}:queue:{queue}:stats:{day}"

    def callbacks(self, queue: str) -> str:
        """ZSET of callback requests (call ids -> time requested)."""
        return f"{self.base}:queue:{queue}:callbacks"

    def call(self, call_id: str) -> str:
        return f"{self.base}:call:{call_id}"

    @property
    def wrap_up(self) -> str:
        """ZSET agent -> time (ms) their wrap-up ends."""
        return f"{self.base}:wrapup"

    @property
    def delayed(self) -> str:
        """ZSET agent -> time (ms) an available agent may be offered calls again (after a
        rejected, busy or unanswered offer: the agent's reject/busy/no-answer delay)."""
        return f"{self.base}:delayed"

    def controller(self, controller_id: str) -> str:
        """A controller's heartbeat (expires when it stops renewing it)."""
        return f"{self.base}:controller:{controller_id}"

    @property
    def reservations(self) -> str:
        """ZSET agent -> time (ms) their reservation (a ringing offer) expires."""
        return f"{self.base}:reservations"

    @property
    def events(self) -> str:
        """The Stream every agent and call change goes to."""
        return f"{self.base}:events"
