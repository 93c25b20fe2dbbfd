"""Background loops end when cancelled, even when a library turns the cancellation into one of
its errors (redis-py 6 does, for a cancel landing during a timed-out read or a reconnect)."""

from __future__ import annotations

import asyncio

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from callcenter.cancellation import cancel_and_wait, reraise_cancellation


async def _redis_like_wait(converted: list[int]) -> None:
    """What redis-py may do with a cancellation that lands at the wrong moment (here: the
    first one): hand back its own error instead."""
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        if converted:
            raise
        converted.append(1)
        raise RedisConnectionError("Connection closed by server.") from None


async def _loop(guarded: bool, rounds: list[int]) -> None:
    """A loop that logs Redis errors and goes on, as the controller's ticks do."""
    converted: list[int] = []
    while True:
        rounds.append(1)
        try:
            await _redis_like_wait(converted)
        except RedisConnectionError:
            if guarded:
                reraise_cancellation()
        await asyncio.sleep(0.01)


async def test_an_unguarded_loop_swallows_one_cancel_and_cancel_and_wait_ends_it() -> None:
    rounds: list[int] = []
    task = asyncio.create_task(_loop(False, rounds))
    await asyncio.sleep(0.01)
    task.cancel()
    _, pending = await asyncio.wait([task], timeout=0.3)
    assert pending == {task}  # the cancellation became an error the loop went on after
    await cancel_and_wait([task], again_after=0.05)
    assert task.done()


async def test_a_guarded_loop_ends_at_the_first_cancel() -> None:
    rounds: list[int] = []
    task = asyncio.create_task(_loop(True, rounds))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(rounds) == 1


async def test_reraise_is_silent_outside_a_cancellation() -> None:
    reraise_cancellation()  # nothing cancels this task

    async def failing() -> None:
        raise ValueError("its own error")

    done = asyncio.create_task(failing())
    await asyncio.wait([done])
    await cancel_and_wait([done])  # an error of an ended task is not raised again
