"""Making outgoing legs: the endpoints ``originate`` and ``bridge`` can dial, and DTMF.

Endpoints: ``null/<x>`` (answers at once), ``error/<cause>`` (fails with that cause),
``loopback/<ext>[/<context>]`` (two legs; the ``-b`` leg runs the dialplan), ``user/<ext>@<domain>``
(a registered scripted phone), ``sofia/gateway/<gw>/<number>`` and ``sofia/<profile>/<uri>``
(a scripted far end behind a trunk).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

from callcenter.sim.causes import normalize_cause
from callcenter.sim.channel import Channel
from callcenter.sim.dialplan import Action
from callcenter.sim.switch import OriginateResult, SwitchCore, parse_originate_vars

__all__ = ["dial", "emit_dtmf", "originate", "originate_leg", "split_dial_string"]

DEFAULT_TIMEOUT = 60.0


async def emit_dtmf(core: SwitchCore, ch: Channel, digits: str, source: str) -> None:
    """DTMF events on a channel, one per digit, and the digits queued for applications."""
    queue = ch.extra.setdefault("dtmf", asyncio.Queue())
    for digit in digits:
        if not ch.is_up:
            return
        if digit not in "0123456789*#ABCDabcd":
            continue
        core.fire_channel(
            "DTMF",
            ch,
            after=[("DTMF-Digit", digit), ("DTMF-Duration", "2000"), ("DTMF-Source", source)],
        )
        queue.put_nowait(digit)
        await core.sleep(0.1)


async def originate_leg(
    core: SwitchCore,
    target: str,
    a_leg: Channel | None = None,
    *,
    timeout: float | None = None,
    caller_name: str | None = None,
    caller_number: str | None = None,
    created: list[Channel] | None = None,
    flip: bool = False,
) -> OriginateResult:
    """Create one outgoing leg and wait until it answers or fails (``created`` collects the
    channel as soon as it exists, so a caller can cancel it while it rings)."""
    variables, endpoint = parse_originate_vars(target.strip())
    if a_leg is not None:
        for key, value in a_leg.extra.get("exported", {}).items():
            variables.setdefault(key, value)
    # switch_ivr_originate: the leg's own leg_timeout, else {originate_timeout=}, else the
    # caller's limit (a bridge's call_timeout, the api's timeout), else 60 s.
    timeout = (
        _seconds(variables.get("leg_timeout"))
        or _seconds(variables.get("originate_timeout"))
        or timeout
        or DEFAULT_TIMEOUT
    )
    cid_num = (
        variables.get("origination_caller_id_number")
        or caller_number
        or (a_leg.caller_number if a_leg else "0000000000")
    )
    cid_name = (
        variables.get("origination_caller_id_name")
        or caller_name
        or (a_leg.caller_name if a_leg else "")
    )
    uuid = variables.get("origination_uuid")
    if uuid and uuid in core.channels:
        return OriginateResult(False, cause="INVALID_PROFILE")
    kind, _, rest = endpoint.partition("/")
    kind = kind.lower()
    if kind == "error":
        return OriginateResult(False, cause=normalize_cause(rest, "NORMAL_CLEARING"))
    if kind not in ("null", "loopback", "user", "sofia"):
        return OriginateResult(False, cause="CHAN_NOT_IMPLEMENTED")
    if kind == "user":
        ext, _, domain = rest.partition("@")
        domain = domain or core.global_vars["domain"]
        if core.directory is not None:
            # mod_dptools' user endpoint: a user the directory does not know is absent; a
            # known one without a registration fails in sofia_contact (USER_NOT_REGISTERED).
            user = core.directory.find(ext, domain)
            if user is None:
                return OriginateResult(False, cause="SUBSCRIBER_ABSENT")
            for key, value in user.variables.items():
                variables.setdefault(key, value)
            variables.setdefault("dialed_user", user.id)
            variables.setdefault("dialed_domain", domain)
            ext = user.id  # a number-alias reaches the user's registration
        phone = core_phone(core, ext, domain)
        if phone is None:
            return OriginateResult(False, cause="USER_NOT_REGISTERED")
        behavior = phone
        name = f"sofia/internal/{ext}@{domain}"
        dest = ext
        source = "mod_sofia"
    elif kind == "sofia":
        behavior = core_far_end(core, rest)
        if isinstance(behavior, str):
            return OriginateResult(False, cause=behavior)
        number = rest.rsplit("/", 1)[-1]
        name = f"sofia/{rest}"
        if rest.startswith("gateway/"):
            variables.setdefault("sip_gateway_name", rest.split("/")[1])
        dest = number.split("@")[0]
        source = "mod_sofia"
    else:
        behavior = None
        name = endpoint
        dest = rest.split("/")[0]
        source = "mod_loopback"
    variables.setdefault("originate_early_media", "true")
    variables.setdefault("originate_endpoint", kind)
    if uuid:
        variables["origination_uuid"] = uuid
    if cid_num:
        variables.setdefault("origination_caller_id_number", cid_num)
    leg_name = f"loopback/{dest}-a" if kind == "loopback" else name
    # The real switch names the callee after the last part of the dial string: "caller" for
    # null/caller, "captures" for loopback/4701/captures (cap 05, 08).
    callee = endpoint.rsplit("/", 1)[-1] if kind in ("null", "loopback") else dest
    b = core.new_channel(
        leg_name,
        "outbound",
        dest,
        uuid=uuid,
        caller_name=cid_name,
        caller_number=cid_num,
        variables=variables,
        source=source,
        endpoint=kind,
        callee_name="Outbound Call",
        callee_number=callee,
        profile_dialplan="xml" if kind == "loopback" else "",
        outgoing=True,
    )
    if created is not None:
        created.append(b)
    if flip:
        b.extra["flip_on_answer"] = True
    if a_leg is not None:
        b.variables["originator"] = a_leg.uuid
    core.fire_channel("CHANNEL_ORIGINATE", b)
    if not await _execute_on_originate(core, b):
        return OriginateResult(False, cause=b.hangup_cause or "NORMAL_CLEARING")
    # The new leg routes (nothing: it is outbound) and waits for media (cap 05).
    core.set_state(b, "CS_ROUTING")
    core.set_state(b, "CS_CONSUME_MEDIA")
    if kind == "null":
        await core.answer(b)
        return OriginateResult(True, b.uuid)
    if kind == "loopback":
        return await _loopback(core, b, rest)
    assert behavior is not None
    return await _ring(core, b, behavior, timeout, a_leg)


async def _execute_on_originate(core: SwitchCore, b: Channel) -> bool:
    """switch_ivr_originate runs the new leg's ``execute_on_originate`` application (the
    value's first space ends its name) before the leg's own thread starts: a ``limit`` there
    counts the leg on a resource, and hangs it up when the resource is full, which fails the
    originate with that cause. False when the leg is down after it."""
    hook = b.variables.get("execute_on_originate", "").strip()
    if hook:
        app, _, data = hook.partition(" ")
        await core.execute(b, app, data.strip())
    return b.is_up


def _seconds(text: str | None) -> float | None:
    """A positive number of seconds (atoi, as FreeSWITCH reads them), else None."""
    match = re.match(r"\s*\d+", text or "")
    return float(match.group(0)) if match and int(match.group(0)) > 0 else None


def core_phone(core: SwitchCore, ext: str, domain: str) -> object | None:
    from callcenter.sim.endpoints import lookup_phone

    return lookup_phone(core, ext, domain)


def core_far_end(core: SwitchCore, uri: str) -> object:
    from callcenter.sim.endpoints import lookup_far_end

    return lookup_far_end(core, uri)


async def _ring(
    core: SwitchCore, b: Channel, behavior: object, timeout: float, a_leg: Channel | None
) -> OriginateResult:
    from callcenter.sim.endpoints import Answering

    assert isinstance(behavior, Answering)
    behavior.calls.append(b.uuid)
    behavior.offers.put_nowait(b.uuid)
    core.set_call_state(b, "RINGING")
    b.progress_us = int(time.time() * 1_000_000)
    core.fire_channel("CHANNEL_PROGRESS", b)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout * core.time_scale
    if behavior.reject is not None:
        delay = min(behavior.reject_after, timeout)
        outcome = await _ring_until(core, b, a_leg, loop.time() + delay * core.time_scale)
        if outcome == "rang":
            core.hangup(b, normalize_cause(behavior.reject, "CALL_REJECTED"))
            return OriginateResult(False, cause=b.hangup_cause or "CALL_REJECTED")
    elif behavior.answer_after is not None and behavior.answer_after <= timeout:
        outcome = await _ring_until(
            core, b, a_leg, loop.time() + behavior.answer_after * core.time_scale
        )
        if outcome == "rang":
            await core.answer(b)
            if behavior.hangup_after is not None:
                core.spawn(_hang_later(core, b, behavior.hangup_after))
            return OriginateResult(True, b.uuid)
    else:
        outcome = await _ring_until(core, b, a_leg, deadline)
        if outcome == "rang":
            core.hangup(b, "NO_ANSWER")
            return OriginateResult(False, cause="NO_ANSWER")
    # The caller went away, or the leg was killed while ringing.
    if b.is_up:
        core.hangup(b, "ORIGINATOR_CANCEL")
    return OriginateResult(False, cause=b.hangup_cause or "ORIGINATOR_CANCEL")


async def _ring_until(core: SwitchCore, b: Channel, a_leg: Channel | None, until: float) -> str:
    loop = asyncio.get_running_loop()
    waits = [asyncio.ensure_future(b.hangup_event.wait())]
    if a_leg is not None:
        waits.append(asyncio.ensure_future(a_leg.hangup_event.wait()))
    try:
        done, _ = await asyncio.wait(
            waits, timeout=max(0.0, until - loop.time()), return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for w in waits:
            w.cancel()
    return "rang" if not done else "gone"


async def _hang_later(core: SwitchCore, ch: Channel, seconds: float) -> None:
    await core.sleep(seconds)
    if ch.is_up:
        ch.variables["sip_hangup_disposition"] = "recv_bye"
        core.hangup(ch, "NORMAL_CLEARING")


async def _loopback(core: SwitchCore, a: Channel, rest: str) -> OriginateResult:
    parts = rest.split("/")
    ext = parts[0]
    context = parts[1] if len(parts) > 1 and parts[1] else "default"
    b = core.new_channel(
        f"loopback/{ext}-b",
        "inbound",
        ext,
        context=context,
        caller_name=a.caller_name,
        caller_number=a.caller_number,
        source="mod_loopback",
        endpoint="loopback",
        callee_name=a.callee_name,
        callee_number=a.callee_number,
        profile_dialplan="xml",
        codec=True,
    )
    core.set_call_state(b, "RINGING")
    actions = core.route_dialplan(b, ext, context)
    if actions is None:
        core.hangup(b, "NO_ROUTE_DESTINATION")
        core.hangup(a, "NO_ROUTE_DESTINATION")
        return OriginateResult(False, cause="NO_ROUTE_DESTINATION")
    a.extra["loopback_peer"] = b
    b.extra["loopback_peer"] = a
    b.hit_dialplan = True
    core.set_state(b, "CS_ROUTING")
    core.set_state(b, "CS_EXECUTE")
    core.start_program(b, actions)
    await asyncio.wait(
        [
            asyncio.ensure_future(a.answered_event.wait()),
            asyncio.ensure_future(a.hangup_event.wait()),
        ],
        return_when=asyncio.FIRST_COMPLETED,
    )
    if a.answered and a.is_up:
        return OriginateResult(True, a.uuid)
    return OriginateResult(False, cause=a.hangup_cause or "NORMAL_CLEARING")


def _split_top(text: str, sep: str) -> list[str]:
    """Split on ``sep`` outside ``{}``/``[]``/``<>`` blocks and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    for char in text:
        if char == "'":
            quoted = not quoted
        elif not quoted and char in "{[<":
            depth += 1
        elif not quoted and char in "}]>" and depth:
            depth -= 1
        if char == sep and not depth and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return [p.strip() for p in parts if p.strip()]


def split_dial_string(data: str) -> list[list[str]]:
    """``{g=1}a,b|c`` -> ``[["{g=1}a", "{g=1}b"], ["{g=1}c"]]``: groups tried in turn (``|``),
    legs of a group rung together (``,``); the leading ``{...}`` applies to every leg."""
    text = data.strip()
    common = ""
    if text.startswith("{"):
        end = text.find("}")
        if end > 0:
            common, text = text[: end + 1], text[end + 1 :]
    return [[common + leg for leg in _split_top(group, ",")] for group in _split_top(text, "|")]


async def dial(
    core: SwitchCore,
    data: str,
    a_leg: Channel | None = None,
    *,
    timeout: float | None = None,
    caller_name: str | None = None,
    caller_number: str | None = None,
    flip: bool = False,
) -> OriginateResult:
    """Dial a whole dial string: the first leg of a group to answer wins, the others are hung
    up with LOSE_RACE; a group that fails passes to the next (``|``)."""
    result = OriginateResult(False, cause="NO_ROUTE_DESTINATION")
    for group in split_dial_string(data):
        if a_leg is not None and not a_leg.is_up:
            return OriginateResult(False, cause="ORIGINATOR_CANCEL")
        created: list[Channel] = []
        tasks = [
            asyncio.ensure_future(
                originate_leg(
                    core,
                    leg,
                    a_leg,
                    timeout=timeout,
                    caller_name=caller_name,
                    caller_number=caller_number,
                    created=created,
                    flip=flip,
                )
            )
            for leg in group
        ]
        winner: OriginateResult | None = None
        failures: list[OriginateResult] = []
        pending: set[asyncio.Future[OriginateResult]] = set(tasks)
        while pending and winner is None:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                outcome = task.result()
                if outcome.ok and winner is None:
                    winner = outcome
                elif outcome.ok:
                    _hang(core, outcome.uuid, "LOSE_RACE")
                else:
                    failures.append(outcome)
        if winner is not None:
            # The others still ring: cancel them (their originate_leg sees the hangup).
            for leg in created:
                if leg.uuid != winner.uuid and leg.is_up:
                    core.hangup(leg, "LOSE_RACE")
            for late in await asyncio.gather(*pending):
                if late.ok:
                    _hang(core, late.uuid, "LOSE_RACE")
            return winner
        result = next((f for f in failures if f.cause), result)
    return result


def _hang(core: SwitchCore, uuid: str, cause: str) -> None:
    ch = core.channels.get(uuid)
    if ch is not None:
        core.hangup(ch, cause)


async def originate(
    core: SwitchCore,
    url: str,
    target: str,
    dialplan: str = "XML",
    context: str = "default",
    cid_name: str | None = None,
    cid_num: str | None = None,
    timeout: float | None = None,
) -> OriginateResult:
    """The ``originate`` api: dial ``url``; on answer run ``&app(args)`` or extension ``target``."""
    result = await dial(
        core, url, timeout=timeout, caller_name=cid_name, caller_number=cid_num, flip=True
    )
    if not result.ok:
        return result
    ch = core.channels.get(result.uuid)
    if ch is None:
        return OriginateResult(False, cause="NORMAL_CLEARING")
    ch.hit_dialplan = True
    if target.startswith("&"):
        app, _, arg = target[1:].partition("(")
        actions = [Action(app.strip(), arg[:-1] if arg.endswith(")") else arg)]
    else:
        routed = core.route_dialplan(ch, target, context)
        if routed is None:
            core.hangup(ch, "NO_ROUTE_DESTINATION")
            return OriginateResult(False, cause="NO_ROUTE_DESTINATION")
        actions = routed
    if ch.is_up:
        core.set_state(ch, "CS_EXECUTE")
        core.start_program(ch, actions)
    return result


def cancel_quietly(task: asyncio.Task[object] | None) -> None:
    if task is not None:
        with contextlib.suppress(Exception):
            task.cancel()
