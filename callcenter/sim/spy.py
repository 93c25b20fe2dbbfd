"""``eavesdrop`` and ``three_way``: one channel listens to (and maybe talks into) another.

As FreeSWITCH does it (mod_dptools ``eavesdrop_function`` / ``three_way_function``,
switch_ivr_async.c ``switch_ivr_eavesdrop_session``): the spy's own variables choose the flags
when the application starts,

- ``eavesdrop_enable_dtmf`` (default true): the spy's digits change the mode while it listens;
- ``eavesdrop_whisper_aleg`` -> ED_MUX_READ: the spy's voice is mixed into what the target
  *reads* (its own party's audio), so whoever the target is bridged to hears the spy;
- ``eavesdrop_whisper_bleg`` -> ED_MUX_WRITE: mixed into what is *written* to the target, so
  the target's own phone hears the spy;
- ``eavesdrop_bridge_aleg`` / ``eavesdrop_bridge_bleg`` -> ED_BRIDGE_READ / ED_BRIDGE_WRITE:
  which side(s) the spy hears; neither set means both;
- ``eavesdrop_require_group``: the target's ``eavesdrop_group`` (a comma list) must name it.

A media bug named ``eavesdrop`` (target: the target's uuid) sits on the target while it runs:
MEDIA_BUG_START / MEDIA_BUG_STOP on the target's channel. Digits (with DTMF on): ``1`` mux read
only, ``2`` mux write only, ``3`` both, ``0`` back to listening, ``*`` leaves. It ends when
either channel goes away; the application then returns (an ``originate ... &eavesdrop(uuid)``
leg hangs up, as after any last application).

No audio is simulated; the state is kept on the spy's channel (``ch.extra["eavesdrop"]``) and
shown by the ``sim_eavesdrops`` api command (a real FreeSWITCH has no such command).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from callcenter.sim.channel import Channel
from callcenter.sim.expand import switch_true
from callcenter.sim.switch import AppFunc, Interrupt, SwitchCore

__all__ = ["SPY_APPS", "Eavesdrop", "eavesdrop_session", "eavesdrops_text"]

log = logging.getLogger("callcenter.sim")

# How often (simulated seconds) the spy's loop looks at its digits and at the target.
_POLL = 0.1


@dataclass
class Eavesdrop:
    """One spy on one target: what it hears (bridge_*) and where its voice goes (mux_*)."""

    spy: str
    target: str
    bridge_read: bool
    bridge_write: bool
    mux_read: bool
    mux_write: bool
    dtmf: bool

    @property
    def mode(self) -> str:
        """listen, whisper-aleg, whisper-bleg or both (everyone hears the spy: a barge)."""
        if self.mux_read and self.mux_write:
            return "both"
        if self.mux_read:
            return "whisper-aleg"
        if self.mux_write:
            return "whisper-bleg"
        return "listen"

    def line(self) -> str:
        sides = (("aleg", self.bridge_read), ("bleg", self.bridge_write))
        hears = ",".join(side for side, on in sides if on)
        return (
            f"{self.spy} {self.target} mode={self.mode} hears={hears} "
            f"dtmf={'true' if self.dtmf else 'false'}"
        )


def _flags(ch: Channel) -> Eavesdrop:
    """mod_dptools ``eavesdrop_function``: the flags from the spy's variables."""
    enable_dtmf = ch.get_var("eavesdrop_enable_dtmf")
    bridge_read = switch_true(ch.get_var("eavesdrop_bridge_aleg"))
    bridge_write = switch_true(ch.get_var("eavesdrop_bridge_bleg"))
    if not bridge_read and not bridge_write:
        bridge_read = bridge_write = True  # "Defaults to both, if neither is set"
    return Eavesdrop(
        spy=ch.uuid,
        target="",
        bridge_read=bridge_read,
        bridge_write=bridge_write,
        mux_read=switch_true(ch.get_var("eavesdrop_whisper_aleg")),
        mux_write=switch_true(ch.get_var("eavesdrop_whisper_bleg")),
        dtmf=switch_true(enable_dtmf) if enable_dtmf is not None else True,
    )


def _in_group(target: Channel, group: str) -> bool:
    names = (target.get_var("eavesdrop_group") or "").split(",")
    return group in names


def _media_bug(target: Channel) -> list[tuple[str, str]]:
    return [("Media-Bug-Function", "eavesdrop"), ("Media-Bug-Target", target.uuid)]


def _digit(ep: Eavesdrop, digit: str) -> bool:
    """Apply one digit (switch_ivr_eavesdrop_session's switch); False for ``*`` (leave)."""
    if digit == "1":
        ep.mux_read, ep.mux_write = True, False
    elif digit == "2":
        ep.mux_read, ep.mux_write = False, True
    elif digit == "3":
        ep.mux_read, ep.mux_write = True, True
    elif digit == "0":
        ep.mux_read, ep.mux_write = False, False
    elif digit == "*":
        return False
    return True


async def eavesdrop_session(core: SwitchCore, ch: Channel, uuid: str, ep: Eavesdrop) -> None:
    """Spy on ``uuid`` until either side goes away (or ``*`` with DTMF on)."""
    target = core.find(uuid) if uuid else None
    if target is None or target is ch:
        # switch_core_session_locate failed: nothing happens, the application returns.
        log.info("sim_eavesdrop_no_target uuid=%s target=%s", ch.uuid, uuid)
        return
    group = ch.get_var("eavesdrop_require_group")
    if group and not _in_group(target, group):
        return
    if not ch.answered:
        await core.pre_answer(ch)
    ep.target = target.uuid
    ch.extra["eavesdrop"] = ep
    core.fire_channel("MEDIA_BUG_START", target, before=_media_bug(target))
    digits: asyncio.Queue[str] = ch.extra.setdefault("dtmf", asyncio.Queue())
    try:
        while ch.is_up and target.is_up:
            while ep.dtmf and not digits.empty():
                if not _digit(ep, digits.get_nowait()):
                    return
            await core.wait(ch, _POLL)
    except Interrupt:
        pass
    finally:
        ch.extra.pop("eavesdrop", None)
        core.fire_channel("MEDIA_BUG_STOP", target, before=_media_bug(target))


async def _eavesdrop(core: SwitchCore, ch: Channel, data: str) -> str | None:
    uuid = data.strip()
    if not uuid:
        log.warning("sim_eavesdrop_usage uuid=%s (expected [all | <uuid>])", ch.uuid)
        return None
    await eavesdrop_session(core, ch, uuid, _flags(ch))
    return None


async def _three_way(core: SwitchCore, ch: Channel, data: str) -> str | None:
    """``three_way <uuid>``: eavesdrop with ED_MUX_READ | ED_MUX_WRITE and no digits."""
    ep = Eavesdrop(ch.uuid, "", True, True, True, True, dtmf=False)
    await eavesdrop_session(core, ch, data.strip(), ep)
    return None


def eavesdrops_text(core: SwitchCore) -> str:
    """``sim_eavesdrops``: one line per spy, ``<spy> <target> mode=... hears=... dtmf=...``."""
    lines = [
        ep.line()
        for ch in core.channels.values()
        if isinstance(ep := ch.extra.get("eavesdrop"), Eavesdrop)
    ]
    return "".join(f"{line}\n" for line in lines) + f"{len(lines)} total.\n"


SPY_APPS: dict[str, AppFunc] = {"eavesdrop": _eavesdrop, "three_way": _three_way}
