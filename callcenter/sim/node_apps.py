"""Applications the generated dialplans use besides the basic ones in ``apps``:

- ``voicemail <profile> <domain> <id>`` (mod_voicemail, leaving a message): answer, greeting
  (the channel's ``voicemail_greeting_path``, else the default one), beep, record until the
  caller hangs up, presses ``#`` or the maximum length; the message is a WAV under
  ``<recordings_dir>/voicemail/<domain>/<id>/msg_<uuid>.wav``, announced by a CUSTOM
  ``vm::maintenance`` event (``VM-Action: leave-message``) and a MESSAGE_WAITING event;
- ``respond <code> [reason]`` (a SIP final response before answer: the call ends with the cause
  mod_sofia maps the code to; 180/183/200 ring, pre-answer, answer);
- ``limit <backend> <realm> <resource> [<max>[/<interval>]] [<dest> [<dialplan> [<context>]]]``
  (mod_dptools + mod_hash): counts the channels holding a resource; one too many is transferred
  to ``dest`` (default ``limit_exceeded`` in the current context) or, for ``!CAUSE``, hung up.
  A channel's hold ends when it hangs up, or is transferred (unless ``limit_ignore_transfer``);
- ``limit_execute <backend> <realm> <resource> <max>[/<interval>] <app> <data>``: the same
  count, held only while ``app`` runs; a full resource skips the application;
- ``db insert/<realm>/<key>/<value>``, ``db delete/<realm>/<key>`` (mod_db; the ``db`` api reads
  it back: ``${db(select/<realm>/<key>)}``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid as uuidlib
from pathlib import Path

from callcenter.sim.apps import play_file
from callcenter.sim.causes import normalize_cause
from callcenter.sim.channel import Channel
from callcenter.sim.expand import switch_true
from callcenter.sim.recording import write_mono_wav
from callcenter.sim.switch import AppFunc, Interrupt, SwitchCore

__all__ = [
    "NODE_APPS",
    "SIP_CAUSES",
    "db_command",
    "release_limit",
    "sip_cause",
    "take_limit",
]

log = logging.getLogger("callcenter.sim")

VM_SUBCLASS = "vm::maintenance"
VM_MAX_RECORD_SECONDS = 300.0  # mod_voicemail profile max-record-len default
VM_MIN_RECORD_SECONDS = 3.0  # min-record-len default: shorter messages are not kept
VM_BEEP = "tone_stream://%(1000,0,640)"  # the vanilla profile's tone-spec
_STEP = 0.1

# sofia_glue_sip_cause_to_freeswitch (1.10); other codes give NORMAL_UNSPECIFIED.
SIP_CAUSES: dict[int, str] = {
    200: "NORMAL_CLEARING",
    400: "NORMAL_TEMPORARY_FAILURE", 401: "CALL_REJECTED", 402: "CALL_REJECTED",
    403: "CALL_REJECTED", 404: "UNALLOCATED_NUMBER", 405: "SERVICE_UNAVAILABLE",
    406: "SERVICE_NOT_IMPLEMENTED", 407: "CALL_REJECTED", 408: "RECOVERY_ON_TIMER_EXPIRE",
    410: "NUMBER_CHANGED", 413: "INTERWORKING", 414: "INTERWORKING",
    415: "SERVICE_NOT_IMPLEMENTED", 416: "INTERWORKING", 420: "INTERWORKING",
    421: "INTERWORKING", 423: "INTERWORKING", 428: "NO_IDENTITY", 429: "BAD_IDENTITY_INFO",
    436: "BAD_IDENTITY_INFO", 437: "UNSUPPORTED_CERTIFICATE", 438: "INVALID_IDENTITY",
    480: "NO_USER_RESPONSE", 481: "NORMAL_TEMPORARY_FAILURE", 482: "EXCHANGE_ROUTING_ERROR",
    483: "EXCHANGE_ROUTING_ERROR", 484: "INVALID_NUMBER_FORMAT", 485: "NO_ROUTE_DESTINATION",
    486: "USER_BUSY", 487: "ORIGINATOR_CANCEL", 488: "INCOMPATIBLE_DESTINATION",
    500: "NORMAL_TEMPORARY_FAILURE", 501: "SERVICE_NOT_IMPLEMENTED",
    502: "NETWORK_OUT_OF_ORDER", 503: "NORMAL_TEMPORARY_FAILURE",
    504: "RECOVERY_ON_TIMER_EXPIRE", 505: "INTERWORKING", 513: "INTERWORKING",
    600: "BUSY_EVERYWHERE", 603: "DECLINE", 604: "DOES_NOT_EXIST_ANYWHERE",
    606: "NOT_ACCEPTABLE", 607: "UNWANTED", 608: "REJECT_ALL",
}  # fmt: skip


def sip_cause(code: int) -> str:
    return SIP_CAUSES.get(code, "NORMAL_UNSPECIFIED")


# -- respond --------------------------------------------------------------------------------------


async def _respond(core: SwitchCore, ch: Channel, data: str) -> str | None:
    code_text = data.split()[0] if data.strip() else ""
    if not code_text.isdigit():
        log.warning("sim_respond_bad_code uuid=%s data=%s", ch.uuid, data)
        return None
    code = int(code_text)
    if code < 200:
        if code == 183:
            await core.pre_answer(ch)
        else:
            core.set_call_state(ch, "RINGING")
        return None
    if code < 300:
        await core.answer(ch)
        return None
    if ch.answered:
        # A final failure response cannot follow the 200 OK: nothing is sent.
        log.warning("sim_respond_after_answer uuid=%s code=%d", ch.uuid, code)
        return None
    ch.variables["sip_hangup_disposition"] = "send_refuse"
    core.hangup(ch, sip_cause(code))
    return None


# -- limit, limit_execute ------------------------------------------------------------------------


def _limit_max(text: str) -> int:
    """``<max>[/<interval>]``: ``-...`` is no maximum (-1); otherwise atoi, at least 0."""
    if text.startswith("-"):
        return -1
    match = re.match(r"\s*\d+", text.partition("/")[0])
    return int(match.group(0)) if match else 0


def take_limit(
    core: SwitchCore, ch: Channel, backend: str, realm: str, resource: str, maximum: int
) -> bool:
    """switch_limit_incr: count the channel on the resource, unless that makes more than
    ``maximum`` (-1: no maximum). The count is the switch's (``limit_usage``); the channel
    gives it back when it hangs up, or when ``release_limit`` says so."""
    key = f"{backend}/{realm}/{resource}"
    usage = core.limits.get(key, 0)
    if maximum >= 0 and usage + 1 > maximum:
        log.info("sim_limit_exceeded uuid=%s resource=%s max=%d", ch.uuid, key, maximum)
        return False
    core.limits[key] = usage + 1
    held: list[str] = ch.extra.setdefault("limits", [])
    held.append(key)
    if not ch.extra.get("limit_watch"):
        ch.extra["limit_watch"] = True
        core.spawn(_release_on_hangup(core, ch))
    if ch.extra.get("limit_on_routing") is None:
        # switch_limit's state handler: a transfer (back to CS_ROUTING) gives every place
        # back, unless limit_ignore_transfer is true.
        def hook() -> None:
            _release_on_transfer(core, ch)

        ch.extra["limit_on_routing"] = hook
        ch.on_routing.append(hook)
    ch.variables["limit_usage"] = str(usage + 1)
    ch.variables[f"limit_usage_{realm}_{resource}"] = str(usage + 1)
    return True


def _give_back(core: SwitchCore, key: str) -> None:
    left = core.limits.get(key, 0) - 1
    if left > 0:
        core.limits[key] = left
    else:
        core.limits.pop(key, None)


def release_limit(core: SwitchCore, ch: Channel, backend: str, realm: str, resource: str) -> None:
    """switch_limit_release: the channel no longer counts on the resource."""
    key = f"{backend}/{realm}/{resource}"
    held: list[str] = ch.extra.get("limits", [])
    if key in held:
        held.remove(key)
        _give_back(core, key)


def _release_on_transfer(core: SwitchCore, ch: Channel) -> None:
    if switch_true(ch.get_var("limit_ignore_transfer")):
        return
    for key in ch.extra.pop("limits", []):
        _give_back(core, key)
    hook = ch.extra.pop("limit_on_routing", None)
    if hook in ch.on_routing:
        ch.on_routing.remove(hook)


async def _release_on_hangup(core: SwitchCore, ch: Channel) -> None:
    try:
        await ch.hangup_event.wait()
    finally:
        for key in ch.extra.pop("limits", []):
            _give_back(core, key)


async def _limit(core: SwitchCore, ch: Channel, data: str) -> str | None:
    args = data.split(None, 6)
    if len(args) < 3:
        log.warning("sim_limit_usage uuid=%s data=%s", ch.uuid, data)
        return None
    backend, realm, resource = args[:3]
    maximum = _limit_max(args[3]) if len(args) > 3 else -1
    if take_limit(core, ch, backend, realm, resource, maximum):
        return None
    destination = args[4] if len(args) > 4 else "limit_exceeded"
    if destination.startswith("!"):
        core.hangup(ch, normalize_cause(destination[1:], "NORMAL_CLEARING"))
    else:
        core.transfer(ch, destination, args[6] if len(args) > 6 else ch.context)
    return None


async def _limit_execute(core: SwitchCore, ch: Channel, data: str) -> str | None:
    """``limit_execute <backend> <realm> <resource> <max>[/<interval>] <app> <data>``: when
    the resource has room, count the channel on it, run the application (its data expanded
    again, as switch_core_session_execute_application does), and give the place back when
    the application returns; when it is full, nothing runs and the dialplan goes on."""
    args = data.split(None, 5)
    if len(args) < 6:
        log.warning("sim_limit_execute_usage uuid=%s data=%s", ch.uuid, data)
        return None
    backend, realm, resource, maximum, app, app_data = args
    if not take_limit(core, ch, backend, realm, resource, _limit_max(maximum)):
        return None
    try:
        await core.execute(ch, app, app_data)
    finally:
        # Only a channel still executing gives the place back here; a transferred one gives
        # it back when it is routed again, a hanging-up one when it hangs up.
        if ch.is_up and ch.extra.get("next") is None:
            release_limit(core, ch, backend, realm, resource)
    return None


# -- db (mod_db) ----------------------------------------------------------------------------------


def db_command(core: SwitchCore, data: str) -> str:
    """mod_db's ``db`` api: ``insert/<realm>/<key>/<value>`` and ``delete/<realm>/<key>``
    (``+OK``), ``select/<realm>/<key>`` (the value, empty when there is none),
    ``exists/<realm>/<key>`` (``true``/``false``); anything else ``!err!``. The data is the
    switch's, in memory (FreeSWITCH keeps it in a database, across restarts)."""
    argv = data.split("/", 3) if data else []
    command = argv[0].lower() if argv else ""
    if command == "insert" and len(argv) == 4:
        core.db.setdefault(argv[1], {})[argv[2]] = argv[3]
        return "+OK"
    if command == "delete" and len(argv) >= 2:
        realm = core.db.get(argv[1], {})
        realm.pop(argv[2] if len(argv) > 2 else "", None)
        return "+OK"
    if command == "select" and len(argv) >= 3:
        return core.db.get(argv[1], {}).get(argv[2], "")
    if command == "exists" and len(argv) >= 3:
        return "true" if argv[2] in core.db.get(argv[1], {}) else "false"
    return "!err!"


def db_now(core: SwitchCore, ch: Channel, data: str) -> str | None:
    """The ``db`` application: ``insert/<realm>/<key>/<value>``, ``delete/<realm>/<key>``."""
    argv = data.split("/", 3) if data else []
    command = argv[0].lower() if argv else ""
    if (
        len(argv) < 3
        or command not in ("insert", "delete")
        or (command == "insert" and len(argv) < 4)
    ):
        log.warning("sim_db_usage uuid=%s data=%s", ch.uuid, data)
        return None
    db_command(core, data)
    return None


async def _db(core: SwitchCore, ch: Channel, data: str) -> str | None:
    return db_now(core, ch, data)


# -- voicemail ------------------------------------------------------------------------------------


async def _record_message(core: SwitchCore, ch: Channel, path: Path) -> tuple[float, bool]:
    """Record until hangup, ``#`` or the maximum; (simulated seconds, caller still there)."""
    queue: asyncio.Queue[str] = ch.extra.setdefault("dtmf", asyncio.Queue())
    while not queue.empty():
        queue.get_nowait()  # what was pressed during the greeting is not part of the message
    core.fire_channel("RECORD_START", ch, after=[("Record-File-Path", str(path))])
    loop = asyncio.get_running_loop()
    started = loop.time()
    present = True
    try:
        while (loop.time() - started) / core.time_scale < VM_MAX_RECORD_SECONDS:
            if not queue.empty() and queue.get_nowait() == "#":
                break
            await core.wait(ch, _STEP)
    except Interrupt:
        present = False
    seconds = min(VM_MAX_RECORD_SECONDS, (loop.time() - started) / core.time_scale)
    if seconds >= VM_MIN_RECORD_SECONDS:
        write_mono_wav(path, seconds)
    core.fire_channel(
        "RECORD_STOP",
        ch,
        after=[("Record-File-Path", str(path)), ("Record-Completion-Cause", "success")],
    )
    return seconds, present and ch.is_up


async def _play(core: SwitchCore, ch: Channel, path: str, stop_on: str = "") -> None:
    """A prompt; ``stop_on`` digits cut it short (they are used up)."""
    queue: asyncio.Queue[str] = ch.extra.setdefault("dtmf", asyncio.Queue())

    def pressed() -> bool:
        while not queue.empty():
            if queue.get_nowait() in stop_on:
                return True
        return False

    await play_file(core, ch, path, until=pressed if stop_on else None)


def _deliver(
    core: SwitchCore, ch: Channel, where: tuple[str, str], path: Path, msg: str, seconds: float
) -> None:
    domain, user = where
    vm = [
        ("VM-Action", "leave-message"),
        ("VM-User", user),
        ("VM-Domain", domain),
        ("VM-Caller-ID-Name", ch.caller_name),
        ("VM-Caller-ID-Number", ch.caller_number),
        ("VM-File-Path", str(path)),
        ("VM-Flags", "B"),
        ("VM-Folder", "inbox"),
        ("VM-UUID", msg),
        ("VM-Message-Len", str(int(seconds))),
        ("VM-Timestamp", str(int(time.time()))),
    ]
    core.fire(core.make_event("CUSTOM", vm, subclass=VM_SUBCLASS))
    waiting = len(list(path.parent.glob("msg_*.wav")))
    mwi = [
        ("MWI-Messages-Waiting", "yes"),
        ("MWI-Message-Account", f"{user}@{domain}"),
        ("MWI-Voice-Message", f"{waiting}/0 (0/0)"),
    ]
    core.fire(core.make_event("MESSAGE_WAITING", mwi))


async def _voicemail(core: SwitchCore, ch: Channel, data: str) -> str | None:
    args = data.split()
    if args[:1] == ["check"] or len(args) < 3:
        log.warning("sim_voicemail_not_simulated uuid=%s data=%s", ch.uuid, data)
        return None
    _profile, domain, user = args[:3]
    if core.directory is not None and core.directory.find(user, domain) is None:
        log.warning("sim_voicemail_no_user uuid=%s user=%s@%s", ch.uuid, user, domain)
        return None
    await core.answer(ch)
    try:
        # The channel's voicemail_greeting_path, else the default greeting ("the person at
        # extension ... is not available"); # skips it.
        greeting = ch.get_var("voicemail_greeting_path")
        if greeting:
            await _play(core, ch, greeting, stop_on="#")
        else:
            await _play(core, ch, "voicemail/vm-person.wav", stop_on="#")
            await _play(core, ch, "voicemail/vm-not_available.wav", stop_on="#")
        while True:
            await _play(core, ch, VM_BEEP)
            msg = str(uuidlib.uuid4())
            path = core.recordings_dir / "voicemail" / domain / user / f"msg_{msg}.wav"
            seconds, present = await _record_message(core, ch, path)
            if seconds >= VM_MIN_RECORD_SECONDS:
                _deliver(core, ch, (domain, user), path, msg, seconds)
                if present:
                    await _play(core, ch, "voicemail/vm-saved.wav")
                    await _play(core, ch, "voicemail/vm-goodbye.wav")
                return None
            if not present:
                return None  # hung up before saying enough: nothing is kept
            await _play(core, ch, "voicemail/vm-too-small.wav")
    except Interrupt:
        return None


NODE_APPS: dict[str, AppFunc] = {
    "voicemail": _voicemail,
    "respond": _respond,
    "limit": _limit,
    "limit_execute": _limit_execute,
    "db": _db,
}
