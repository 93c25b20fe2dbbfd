"""Ending background loops for sure.

redis-py (6.x, asyncio) can turn a cancellation that lands while it waits (a read under its
socket timeout, a reconnect, its retry's pause) into one of its own errors: a loop that logs
Redis errors and goes on would swallow the cancellation, and whoever awaits the task after
cancelling it would wait for ever (seen: a controller's ``stop`` hanging after Redis came back,
under CPU load). Two guards: a loop's error handler calls ``reraise_cancellation`` first, and
``cancel_and_wait`` cancels again whatever did not end.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

__all__ = ["cancel_and_wait", "reraise_cancellation"]


def reraise_cancellation() -> None:
    """In an error handler: the task is being cancelled, whatever error it was handed."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError


async def cancel_and_wait(
    tasks: Iterable[asyncio.Future[Any]], *, again_after: float = 1.0
) -> None:
    """Cancel the tasks and wait until every one has ended, cancelling those still running
    every ``again_after`` seconds. Their errors are retrieved (not raised): they were stopped
    on purpose."""
    every = list(tasks)
    pending = {task for task in every if not task.done()}
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=again_after)
    for task in every:
        if not task.cancelled():
            task.exception()
