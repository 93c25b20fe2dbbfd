"""What the ACD stores: agents, queues, tiers, waiting calls, in contact-center words."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["AgentStatus", "Offer", "QueueConfig", "Strategy", "WaitingCall"]


class AgentStatus(StrEnum):
    LOGGED_OUT = "logged_out"
    AVAILABLE = "available"
    ON_BREAK = "on_break"
    RESERVED = "reserved"  # an offer is ringing the agent's phone
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"


class Strategy(StrEnum):
    """mod_callcenter's strategies (ring-all and ring-progressively offer to several agents)."""

    LONGEST_IDLE = "longest-idle-agent"
    ROUND_ROBIN = "round-robin"
    TOP_DOWN = "top-down"
    LEAST_TALK_TIME = "agent-with-least-talk-time"
    FEWEST_CALLS = "agent-with-fewest-calls"
    SEQUENTIAL = "sequentially-by-agent-order"
    RANDOM = "random"
    RING_ALL = "ring-all"
    RING_PROGRESSIVELY = "ring-progressively"


@dataclass(frozen=True)
class QueueConfig:
    name: str
    strategy: Strategy = Strategy.LONGEST_IDLE
    wrap_up_seconds: float = 10.0
    max_no_answer: int = 3
    # A caller with priority p is served as if they had arrived p * priority_weight seconds
    # earlier: a VIP jumps ahead, and anyone who waits long enough is served (no starvation).
    priority_weight_seconds: float = 60.0
    service_level_seconds: float = 20.0
    # After max_wait_seconds (0 = never) a caller leaves for ``overflow``: "queue:<name>" or
    # "extension:<number>@<context>" (voicemail is an extension of the dialplan).
    max_wait_seconds: float = 0.0
    # When no agent of the queue has been logged in for this long (0 = never), its callers
    # leave for ``overflow`` too, instead of waiting for agents who are not there
    # (mod_callcenter's max-wait-time-with-no-agent).
    max_wait_no_agent_seconds: float = 0.0
    overflow: str = ""
    # A caller who presses exit_key leaves a callback request and hangs up.
    exit_key: str = ""
    # Every announce_seconds (0 = never) a waiting caller hears their position in line and/or
    # the estimated wait, then the music on hold again (``controller/announcer.py``).
    announce_seconds: float = 0.0
    announce_position: bool = True
    announce_wait: bool = True
    # Ring-progressively: one more phone every this many seconds, the earlier ones ringing on.
    ring_progressively_delay_seconds: float = 10.0


@dataclass(frozen=True)
class WaitingCall:
    call_id: str
    queue: str
    caller_number: str = ""
    caller_name: str = ""
    priority: int = 0
    skills: dict[str, int] = field(default_factory=dict)  # skill -> minimum proficiency
    enqueued_ms: int = 0
    node: str = ""  # the switch node the caller is on: offers must ring the agent there
    # The number they dialed (``cc_did``) and its label (``cc_did_label``: which advert): for
    # the screen-pop and the CRM's events from the first one on.
    did: str = ""
    campaign: str = ""


@dataclass(frozen=True)
class Offer:
    """A waiting call matched with a reserved agent (one atomic step in Redis)."""

    call_id: str
    queue: str
    agent: str
    contact: str
    # The call as the reserve step read it: enough to ring the agent without another read.
    node: str = ""
    caller_number: str = ""
    caller_name: str = ""
    enqueued_ms: int = 0
    strategy: str = ""  # of the queue: ring-all and ring-progressively ring several phones
    callback: bool = False  # a callback request: the agent is rung first, then the customer
