"""IVR applications: ``read`` and ``play_and_get_digits`` collect what a scripted caller
presses (``Caller.press``, ``sim_dtmf``) while a prompt plays, as mod_dptools does.

Digits a caller pressed before the prompt are kept (type-ahead), a digit stops the prompt, and
time outs are simulated seconds like every other delay.
"""

from __future__ import annotations

import asyncio
import re

from callcenter.sim.apps import play_file
from callcenter.sim.channel import Channel
from callcenter.sim.switch import AppFunc, SwitchCore

__all__ = ["IVR_APPS", "collect_digits"]

_STEP = 0.05  # simulated seconds between looks at the digit queue


def _digits(ch: Channel) -> asyncio.Queue[str]:
    queue: asyncio.Queue[str] = ch.extra.setdefault("dtmf", asyncio.Queue())
    return queue


async def collect_digits(
    core: SwitchCore,
    ch: Channel,
    max_digits: int,
    terminators: str,
    timeout: float,
    digit_timeout: float | None = None,
) -> tuple[str, str]:
    """Digits until ``max_digits``, a terminator, or silence; returns (digits, terminator)."""
    queue = _digits(ch)
    got = ""
    wait = timeout
    while len(got) < max_digits:
        waited = 0.0
        while queue.empty() and waited < wait:
            await core.wait(ch, _STEP)
            waited += _STEP
        if queue.empty():
            break
        digit = queue.get_nowait()
        if digit in terminators:
            return got, digit
        got += digit
        wait = digit_timeout if digit_timeout is not None else timeout
    return got, ""


def _ms(text: str, default: float) -> float:
    return int(text) / 1000 if text.strip().isdigit() else default


async def _read(core: SwitchCore, ch: Channel, data: str) -> str | None:
    """``read <min> <max> <file> <var> <timeout_ms> <terminators>``."""
    args = data.split()
    if len(args) < 4:
        return None
    low, high = int(args[0]), int(args[1])
    path, var = args[2], args[3]
    timeout = _ms(args[4], 5.0) if len(args) > 4 else 5.0
    terminators = args[5] if len(args) > 5 else "#"
    queue = _digits(ch)
    if path and path != "silence_stream://0":
        await play_file(core, ch, path, until=lambda: not queue.empty())
    digits, term = await collect_digits(core, ch, high, terminators, timeout)
    ch.set_var(var, digits)
    ch.set_var("read_terminator_used", term or None)
    ch.set_var("read_result", "success" if len(digits) >= low else "timeout")
    return None


async def _play_and_get_digits(core: SwitchCore, ch: Channel, data: str) -> str | None:
    """``play_and_get_digits <min> <max> <tries> <timeout_ms> <terminators> <file>
    <invalid_file> <var> <regexp> [<digit_timeout_ms>] [<transfer_on_failure>]``."""
    args = data.split()
    if len(args) < 8:
        return None
    low, high, tries = int(args[0]), int(args[1]), max(1, int(args[2]))
    timeout = _ms(args[3], 5.0)
    terminators = "" if args[4] == "none" else args[4]
    path, invalid, var = args[5], args[6], args[7]
    pattern = args[8] if len(args) > 8 else r"\d+"
    digit_timeout = _ms(args[9], timeout) if len(args) > 9 else timeout
    failure = args[10:] if len(args) > 10 else []
    queue = _digits(ch)
    for _ in range(tries):
        await play_file(core, ch, path, until=lambda: not queue.empty())
        digits, term = await collect_digits(core, ch, high, terminators, timeout, digit_timeout)
        if len(digits) >= low and re.fullmatch(pattern, digits):
            ch.set_var(var, digits)
            ch.set_var("read_terminator_used", term or None)
            return None
        ch.set_var(f"{var}_invalid", digits or None)
        if invalid and invalid != "silence_stream://250" and digits:
            await play_file(core, ch, invalid)
    ch.set_var(var, None)
    if failure:
        dest = failure[0]
        context = failure[2] if len(failure) > 2 else ch.context
        core.transfer(ch, dest, context)
    return None


IVR_APPS: dict[str, AppFunc] = {
    "read": _read,
    "play_and_get_digits": _play_and_get_digits,
}
