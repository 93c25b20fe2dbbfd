"""Errors of the ACD layer, each with a message a person can act on."""

from __future__ import annotations

__all__ = ["AcdError", "UnknownAgentError", "UnknownQueueError", "WrongAgentStateError"]


class AcdError(Exception):
    """Base of the ACD errors."""


class UnknownAgentError(AcdError):
    def __init__(self, agent: str) -> None:
        super().__init__(f"no agent {agent!r} in this center (add it to the configuration)")
        self.agent = agent


class UnknownQueueError(AcdError):
    def __init__(self, queue: str) -> None:
        super().__init__(f"no queue {queue!r} in this center (add it to the configuration)")
        self.queue = queue


class WrongAgentStateError(AcdError):
    """The change is not allowed from the agent's current state (e.g. logging in twice)."""
