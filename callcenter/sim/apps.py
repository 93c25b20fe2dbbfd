"""Dialplan applications of the simulated switch (the subset the project's dialplans use).

Each returns the value of ``current_application_response`` (or None to leave it as it is).
Applications that take time wait through ``SwitchCore.wait`` so the channel keeps handling its
messages (sendmsg, hangup) meanwhile, as FreeSWITCH applications do.
"""

from __future__ import annotations

import re
import time
import uuid as uuidlib
from collections.abc import Callable

from callcenter.sim.causes import cause_code, normalize_cause
from callcenter.sim.channel import Channel
from callcenter.sim.dialplan import split_assignment
from callcenter.sim.expand import switch_true
from callcenter.sim.switch import AppFunc, InlineFunc, Interrupt, SwitchCore

__all__ = ["APPS", "INLINE_APPS", "continues", "playback_seconds", "ring_timeout"]

CC_SUBCLASS = "callcenter::info"
_TONE = re.compile(r"%\(([\d.]+),([\d.]+)")


def playback_seconds(core: SwitchCore, path: str) -> float:
    """How long a playback lasts: tone_stream on/off times, silence_stream ms, else the default.

    ``file_string://a!b!c`` plays its files one after the other (mod_dptools' file_string
    format): the sum of theirs, so one ending in music on hold plays until something stops it.
    """
    if path.startswith("file_string://"):
        parts = [p for p in path[len("file_string://") :].split("!") if p]
        return min(3600.0, sum(playback_seconds(core, p) for p in parts))
    if path.startswith("tone_stream://"):
        total = 0.0
        for on, off in _TONE.findall(path):
            total += (float(on) + float(off)) / 1000
        loops = re.search(r"loops=(-?\d+)", path)
        if loops and int(loops.group(1)) < 0:
            return 3600.0
        return total or core.default_playback_seconds
    if path.startswith("local_stream://"):
        return 3600.0  # music on hold plays until something stops it
    if path.startswith("silence_stream://"):
        ms = path[len("silence_stream://") :].split(",")[0]
        return float(ms) / 1000 if ms.lstrip("-").isdigit() and int(ms) > 0 else 3600.0
    return core.default_playback_seconds


async def _answer(core: SwitchCore, ch: Channel, data: str) -> str | None:
    await core.answer(ch)
    return None


async def _pre_answer(core: SwitchCore, ch: Channel, data: str) -> str | None:
    await core.pre_answer(ch)
    return None


async def _ring_ready(core: SwitchCore, ch: Channel, data: str) -> str | None:
    core.set_call_state(ch, "RINGING")
    return None


async def _park(core: SwitchCore, ch: Channel, data: str) -> str | None:
    core.fire_channel("CHANNEL_PARK", ch)
    try:
        await core.wait(ch, None)
    finally:
        core.fire_channel("CHANNEL_UNPARK", ch)
    return None


async def play_file(
    core: SwitchCore, ch: Channel, path: str, until: Callable[[], bool] | None = None
) -> str:
    """PLAYBACK_START, the file's duration, PLAYBACK_STOP (``break`` when interrupted).

    ``until``: checked every simulated 0.1 s; true stops the playback early (a caller's digit
    stops an IVR prompt).
    """
    kind = path.split("://", 1)[0] if "://" in path else path.rsplit(".", 1)[-1]
    extra = [("Playback-File-Type", kind), ("Playback-File-Path", path)]
    core.fire_channel("PLAYBACK_START", ch, after=extra)
    status = "done"
    ch.extra["playing"] = ch.extra.get("playing", 0) + 1
    try:
        remaining = playback_seconds(core, path)
        if until is None:
            await core.wait(ch, remaining, media=True)
        while until is not None and remaining > 0:
            if until():
                status = "break"
                break
            step = min(0.1, remaining)
            await core.wait(ch, step, media=True)
            remaining -= step
    except Interrupt:
        status = "break"
        raise
    finally:
        ch.extra["playing"] -= 1
        core.fire_channel("PLAYBACK_STOP", ch, after=[*extra, ("Playback-Status", status)])
        ch.variables["playback_last_offset_pos"] = "0"
    return "FILE PLAYED"


async def _playback(core: SwitchCore, ch: Channel, data: str) -> str | None:
    if not data:
        return "FILE NOT FOUND"
    try:
        return await play_file(core, ch, data)
    except Interrupt as exc:
        if exc.reason == "hangup":
            return "FILE PLAYED"
        if exc.reason == "break":
            return "PLAYBACK_BREAK"  # the dialplan goes on after a uuid_break
        raise


async def _sleep(core: SwitchCore, ch: Channel, data: str) -> str | None:
    ms = int(data) if data.strip().isdigit() else 0
    await core.wait(ch, ms / 1000)
    return None


def set_now(core: SwitchCore, ch: Channel, data: str) -> str | None:
    """mod_dptools ``set``: ``name=value`` (or ``name,value``); the value is expanded once
    more (the application runner expanded the whole data already); an empty one unsets."""
    name, value = split_assignment(data)
    if name:
        ch.set_var(name, core.expand(ch, value) if value else None)
    return None


def export_now(core: SwitchCore, ch: Channel, data: str) -> str | None:
    """mod_dptools ``export``: like ``set`` without the second expansion, and the variable
    goes to the legs this channel dials (``nolocal:``: only to them)."""
    name, _, value = data.partition("=")
    name = name.strip()
    local = not name.lower().startswith("nolocal:")
    if not local:
        name = name[len("nolocal:") :]
    if local:
        ch.set_var(name, value or None)
    exported = ch.extra.setdefault("exported", {})
    if value:
        exported[name] = value
    else:
        exported.pop(name, None)
    return None


def unset_now(core: SwitchCore, ch: Channel, data: str) -> str | None:
    ch.set_var(data.strip(), None)
    return None


def set_global_now(core: SwitchCore, ch: Channel, data: str) -> str | None:
    name, _, value = data.partition("=")
    if value:
        core.global_vars[name.strip()] = value
    else:
        core.global_vars.pop(name.strip(), None)
    return None


def log_now(core: SwitchCore, ch: Channel, data: str) -> str | None:
    return None


def _async(func: InlineFunc) -> AppFunc:
    async def run(core: SwitchCore, ch: Channel, data: str) -> str | None:
        return func(core, ch, data)

    return run


async def _hangup(core: SwitchCore, ch: Channel, data: str) -> str | None:
    core.hangup(ch, normalize_cause(data or "NORMAL_CLEARING"))
    return None


async def _transfer(core: SwitchCore, ch: Channel, data: str) -> str | None:
    parts = data.split()
    if not parts:
        return None
    context = parts[2] if len(parts) > 2 else ch.context
    core.transfer(ch, parts[0], context)
    return None


async def _echo(core: SwitchCore, ch: Channel, data: str) -> str | None:
    await core.wait(ch, None)
    return None


async def _record_session(core: SwitchCore, ch: Channel, data: str) -> str | None:
    path = data.split()[0] if data.strip() else f"{ch.uuid}.wav"
    core.start_recording(ch, path)
    return None


async def _stop_record_session(core: SwitchCore, ch: Channel, data: str) -> str | None:
    core.stop_recording(ch, data.strip() or "all")
    return None


_DIALSTATUS = {
    "ORIGINATOR_CANCEL": "CANCEL",
    "USER_BUSY": "BUSY",
    "NO_ANSWER": "NOANSWER",
    "INVALID_NUMBER_FORMAT": "INVALIDARGS",
    "INVALID_URL": "INVALIDARGS",
    "CALL_REJECTED": "DONTCALL",
}


def _in_causes(setting: str, cause: str) -> bool:
    """A comma list of causes (names or Q.850 numbers, any case) holds ``cause``."""
    wanted = {c.strip().upper() for c in setting.split(",")}
    return cause in wanted or str(cause_code(cause)) in wanted


def continues(ch: Channel, cause: str) -> bool:
    """Does the dialplan go on after a bridge that failed with ``cause`` (mod_dptools'
    audio_bridge_function)? With ``continue_on_fail`` or ``failure_causes`` set: a cause
    ``failure_causes`` does not list goes on; ``continue_on_fail`` true (switch_true), or a
    list holding the cause, goes on. With neither: NO_ANSWER, NO_USER_RESPONSE and
    ORIGINATOR_CANCEL go on. ATTENDED_TRANSFER never does."""
    if cause == "ATTENDED_TRANSFER":
        return False
    on_fail = ch.get_var("continue_on_fail")
    failure = ch.get_var("failure_causes")
    if on_fail is None and failure is None:
        return cause in ("NO_ANSWER", "NO_USER_RESPONSE", "ORIGINATOR_CANCEL")
    if failure is not None and not _in_causes(failure, cause):
        return True
    if on_fail is not None:
        return switch_true(on_fail) or _in_causes(on_fail, cause)
    return False


def ring_timeout(ch: Channel) -> float | None:
    """How long a bridge lets its legs ring: the channel's ``call_timeout`` (else
    ``leg_timeout``) in seconds; 0 or less is the default 60 (None: not set)."""
    for name in ("call_timeout", "leg_timeout"):
        value = ch.get_var(name)
        if value is not None:
            match = re.match(r"\s*-?\d+", value)
            seconds = int(match.group(0)) if match else 0
            return float(seconds) if seconds > 0 else 60.0
    return None


async def _bridge(core: SwitchCore, ch: Channel, data: str) -> str | None:
    """Dial the target(s) in order (``|`` failover, ``,`` ring together) and join the winner.

    The legs ring for ``call_timeout`` seconds (see ``ring_timeout``; a leg's own
    ``leg_timeout`` and ``{originate_timeout=}`` win), then fail with NO_ANSWER. When every
    target fails the call ends with the cause, unless ``continues`` lets the dialplan go on
    (``originate_disposition`` tells why the bridge failed)."""
    from callcenter.sim.originate import dial

    result = await dial(core, data, ch, timeout=ring_timeout(ch))
    if result.ok:
        b = core.channels.get(result.uuid)
        if not ch.is_up:
            if b is not None:
                core.hangup(b, "ORIGINATOR_CANCEL")
            return None
        if b is None:
            return None
        ch.variables["originate_disposition"] = "call accepted"
        ch.variables["DIALSTATUS"] = "ANSWER"
        await core.answer(ch)
        core.bridge(ch, b, by_api=False)
        # The B leg gets its own thread, and goes down when the bridge ends.
        b.extra["hangup_when_unbridged"] = True
        core.take(b, ("bridged",))
        ch.variables["bridge_hangup_cause"] = ""
        await core.stay_bridged(ch)
        ch.variables["last_bridge_hangup_cause"] = b.hangup_cause or "NORMAL_CLEARING"
        return None
    ch.variables["originate_disposition"] = result.cause
    ch.variables["originate_failed_cause"] = result.cause
    ch.variables["DIALSTATUS"] = _DIALSTATUS.get(result.cause, result.cause)
    if ch.is_up and ch.extra.get("next") is None and not continues(ch, result.cause):
        core.hangup(ch, result.cause)
    return None


async def _socket(core: SwitchCore, ch: Channel, data: str) -> str | None:
    from callcenter.sim.outbound_mode import run_socket_app

    await run_socket_app(core, ch, data)
    return None


async def _callcenter(core: SwitchCore, ch: Channel, data: str) -> str | None:
    """``callcenter <queue>``: a member waits in the queue, hearing music, until it hangs up or
    is taken away (mod_callcenter's agents are not simulated: the project's own ACD offers
    calls). Fires the member's ``callcenter::info`` events as cap 11 shows them."""
    queue = data.split()[0] if data.strip() else ""
    joined = str(int(time.time()))
    member = [
        ("CC-Member-UUID", str(uuidlib.uuid4())),
        ("CC-Member-Session-UUID", ch.uuid),
        ("CC-Member-CID-Name", ch.caller_name),
        ("CC-Member-CID-Number", ch.caller_number),
    ]
    members = core.queue_members.setdefault(queue, set())
    members.add(ch.uuid)
    start = [("CC-Queue", queue), ("CC-Action", "member-queue-start"), *member]
    core.fire_channel("CUSTOM", ch, after=start, subclass=CC_SUBCLASS)
    _members_count(core, queue)
    reason = "NONE"
    try:
        await core.wait(ch, None)
    except Interrupt as exc:
        reason = "BREAK_OUT" if exc.reason == "hangup" else "NONE"
    finally:
        members.discard(ch.uuid)
        end = [
            ("CC-Queue", queue),
            ("CC-Action", "member-queue-end"),
            ("CC-Member-Leaving-Time", str(int(time.time()))),
            ("CC-Member-Joined-Time", joined),
            ("CC-Cause", "Cancel"),
            ("CC-Cancel-Reason", reason),
            *member,
        ]
        core.fire_channel("CUSTOM", ch, after=end, subclass=CC_SUBCLASS)
        _members_count(core, queue)
    return None


def _members_count(core: SwitchCore, queue: str) -> None:
    count = [
        ("CC-Queue", queue),
        ("CC-Action", "members-count"),
        ("CC-Count", str(len(core.queue_members.get(queue, ())))),
        ("CC-Selection", "Single-Queue"),
    ]
    core.fire(core.make_event("CUSTOM", count, subclass=CC_SUBCLASS))


async def _info(core: SwitchCore, ch: Channel, data: str) -> str | None:
    return None


async def _wait_for_answer(core: SwitchCore, ch: Channel, data: str) -> str | None:
    while not ch.answered:
        await core.wait(ch, 0.05)
    return None


async def _sched_hangup(core: SwitchCore, ch: Channel, data: str) -> str | None:
    seconds = data.split()[0].lstrip("+") if data.strip() else "0"
    cause = data.split()[1] if len(data.split()) > 1 else "ALLOTTED_TIMEOUT"

    async def later() -> None:
        await core.sleep(float(seconds))
        core.hangup(ch, cause)

    core.spawn(later())
    return None


async def _send_dtmf(core: SwitchCore, ch: Channel, data: str) -> str | None:
    from callcenter.sim.originate import emit_dtmf

    await emit_dtmf(core, ch, data.split("@")[0], "APP")
    return None


APPS: dict[str, AppFunc] = {
    "answer": _answer,
    "pre_answer": _pre_answer,
    "ring_ready": _ring_ready,
    "park": _park,
    "playback": _playback,
    "sleep": _sleep,
    "set": _async(set_now),
    "export": _async(export_now),
    "unset": _async(unset_now),
    "set_global": _async(set_global_now),
    "hangup": _hangup,
    "transfer": _transfer,
    "log": _async(log_now),
    "echo": _echo,
    "record_session": _record_session,
    "stop_record_session": _stop_record_session,
    "bridge": _bridge,
    "socket": _socket,
    "callcenter": _callcenter,
    "info": _info,
    "wait_for_answer": _wait_for_answer,
    "sched_hangup": _sched_hangup,
    "send_dtmf": _send_dtmf,
}
# The applications mod_dptools lets run inline (SAF_ROUTING_EXEC) that the sim has.
INLINE_APPS: dict[str, InlineFunc] = {
    "set": set_now,
    "export": export_now,
    "unset": unset_now,
    "set_global": set_global_now,
    "log": log_now,
}
