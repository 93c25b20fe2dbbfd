"""The errors of live call control (``CallControl``): one tree, each with a slug and a status.

``error_id`` is a stable slug an API client can switch on; ``status`` is the HTTP status the
API maps it to (the service itself knows nothing of HTTP); the message says what to do.
"""

from __future__ import annotations

__all__ = [
    "AgentUnavailableError",
    "BadDestinationError",
    "BadNumberError",
    "CallControlError",
    "NoRouteError",
    "SwitchRefusedError",
    "SwitchUnavailableError",
    "UnknownAgentError",
    "UnknownCallError",
    "WrongCallStateError",
]


class CallControlError(Exception):
    """Base of every error ``CallControl`` raises."""

    error_id = "call-control-error"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnknownCallError(CallControlError):
    """No live call by that id in this tenant (another tenant's calls are not visible)."""

    error_id = "unknown-call"
    status = 404

    def __init__(self, call_id: str) -> None:
        super().__init__(
            f"no call {call_id!r} in this tenant: it has ended, or the id is not a call's "
            "(use the caller's channel UUID, as the ACD lists it)"
        )
        self.call_id = call_id


class UnknownAgentError(CallControlError):
    error_id = "unknown-agent"
    status = 404

    def __init__(self, agent: str) -> None:
        super().__init__(f"no agent {agent!r} in this tenant (add it to the center file)")
        self.agent = agent


class WrongCallStateError(CallControlError):
    """The call is not in a state for that (not answered yet, already ended, a consultation
    going on...)."""

    error_id = "wrong-call-state"
    status = 409


class AgentUnavailableError(WrongCallStateError):
    """The agent cannot take a call now (logged out, on a call, ringing for a queue call)."""

    error_id = "agent-unavailable"


class BadDestinationError(CallControlError):
    """A destination that is not one, or names nothing in the tenant."""

    error_id = "bad-destination"
    status = 422


class BadNumberError(BadDestinationError):
    """Not a phone number (3 to 15 digits, an optional leading +)."""

    error_id = "bad-number"


class NoRouteError(BadDestinationError):
    """No outbound route of the tenant takes the number, or none of its gateways has a rate."""

    error_id = "no-route"


class SwitchRefusedError(CallControlError):
    """The switch answered the command with ``-ERR``; ``reply`` is its text."""

    error_id = "switch-refused"
    status = 502

    def __init__(self, command: str, reply: str) -> None:
        self.command = command
        self.reply = reply.strip()
        verb = command.split(" ", 1)[0]
        super().__init__(
            f"the switch refused {verb}: {self.reply} (the channel may have just ended; "
            "look the call up again)"
        )


class SwitchUnavailableError(CallControlError):
    """The switch node holding the call is not reachable from this controller."""

    error_id = "switch-unavailable"
    status = 503
