"""The events a CRM can subscribe to, and the fields each one's JSON payload carries.

``docs/crm.md`` shows an example of each; ``payloads.py`` builds them.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["COMMON_FIELDS", "EVENT_FIELDS", "CrmEvent"]


class CrmEvent(StrEnum):
    QUEUED = "queued"  # a caller entered a queue (or was overflowed into another one)
    RINGING = "ringing"  # agents' phones ring for the call
    ANSWERED = "answered"  # an agent picked up
    ABANDONED = "abandoned"  # the caller hung up while waiting or ringing
    ENDED = "ended"  # the call is over: its summary (times, wait, talk, hangup cause)
    DISPOSITION = "disposition"  # an agent set the call's disposition code
    AGENT_STATUS = "agent_status"  # an agent's state changed (available, on call, break...)


# Every payload has these (null when the event does not know the value).
COMMON_FIELDS = (
    "event",
    "event_id",
    "tenant",
    "call_id",
    "caller_number",
    "caller_name",
    "did",
    "queue",
    "agent",
    "at",
    "at_ms",
)

# And these, by event.
EVENT_FIELDS: dict[CrmEvent, tuple[str, ...]] = {
    CrmEvent.QUEUED: ("position", "came_from"),
    CrmEvent.RINGING: ("agents",),
    CrmEvent.ANSWERED: ("wait_ms",),
    CrmEvent.ABANDONED: ("wait_ms",),
    CrmEvent.ENDED: (
        "outcome",
        "started_at",
        "answered_at",
        "ended_at",
        "wait_ms",
        "talk_ms",
        "duration_ms",
        "billsec",
        "hangup_cause",
        "hangup_side",
    ),
    CrmEvent.DISPOSITION: ("code", "set_by"),
    CrmEvent.AGENT_STATUS: ("status", "previous", "reason"),
}
