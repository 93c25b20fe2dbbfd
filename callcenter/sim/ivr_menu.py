"""``ivr <menu>``: mod_dptools' ivr application running an ivr.conf menu (switch_ivr_menu.c).

The menu plays ``greet-long`` (``greet-short`` on later rounds), a digit stops the prompt, up to
``digit-len`` digits are collected (``timeout`` for the first, ``inter-digit-timeout`` between
the others), and every entry whose ``digits`` match runs:

- ``menu-exec-app``: the application in ``param`` ("transfer 5000 XML acme") runs on the channel
  (CHANNEL_EXECUTE/COMPLETE of its own); a transfer or hangup leaves the menu at once;
- ``menu-sub``: the named menu runs; when it returns this one starts over with ``greet-long``;
- ``menu-back``: back to the menu that called this one (leaves the top menu);
- ``menu-top``: back to the top menu; ``menu-exit``: leaves every menu;
- ``menu-play-sound``: plays ``param``, then the menu goes on.

Wrong digits play ``invalid-sound`` and count as a failure, silence as a timeout; at
``max-failures`` (``max-timeouts``) the menu runs ``exec-on-max-failures``
(``exec-on-max-timeouts``; its arguments expanded twice, as switch_ivr_menu.c does) if set and
ends. Leaving the top menu plays ``exit-sound`` unless the channel was transferred or hung up.
The dialplan then goes on with its next action. Each menu fires CUSTOM ``menu::enter`` /
``menu::exit`` (``Menu-Name``) around the time it runs.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from callcenter.sim.apps import play_file
from callcenter.sim.channel import Channel
from callcenter.sim.conf import IvrMenu
from callcenter.sim.ivr import collect_digits
from callcenter.sim.switch import AppFunc, Interrupt, SwitchCore

__all__ = ["IVR_MENU_APPS", "run_menu"]

log = logging.getLogger("callcenter.sim")

MENU_ENTER = "menu::enter"
MENU_EXIT = "menu::exit"
MAX_DEPTH = 12  # switch_ivr_menu_execute refuses deeper recursion

# What a menu returns to the one that called it.
SUCCESS = "success"  # went back (menu-back) or ended normally
EXIT = "exit"  # menu-exit, or an error: every menu ends
TOP = "top"  # menu-top: menus end up to the top one, which starts over
GONE = "gone"  # the channel hung up or was transferred


@dataclass
class _Stack:
    depth: int = 0


def _left(ch: Channel) -> bool:
    return not ch.is_up or ch.extra.get("next") is not None


def _queue(ch: Channel) -> asyncio.Queue[str]:
    queue: asyncio.Queue[str] = ch.extra.setdefault("dtmf", asyncio.Queue())
    return queue


async def _prompt(core: SwitchCore, ch: Channel, path: str) -> str:
    """Play a prompt a digit stops; returns that digit ("" if none came)."""
    if not path:
        return ""
    queue = _queue(ch)
    try:
        await play_file(core, ch, path, until=lambda: not queue.empty())
    except Interrupt as exc:
        if exc.reason != "break":  # uuid_break stops the prompt, not the menu
            raise
    return "" if queue.empty() else queue.get_nowait()


async def _collect(core: SwitchCore, ch: Channel, menu: IvrMenu, greeting: str) -> str:
    first = await _prompt(core, ch, greeting)
    need = menu.digit_len - len(first)
    if need <= 0:
        return first
    terminators = "#" if menu.digit_len > 1 else ""
    timeout = menu.inter_digit_timeout if first else menu.timeout
    rest, _term = await collect_digits(
        core, ch, need, terminators, timeout, menu.inter_digit_timeout
    )
    return first + rest


async def _exec(core: SwitchCore, ch: Channel, command: str, *, expand: bool = False) -> bool:
    """Run ``app args`` on the channel; False when there is no such application.
    ``expand``: the arguments are expanded once before the application runner expands them
    (switch_ivr_menu.c's exec_app, for ``exec-on-max-*``; ``menu-exec-app`` runs them as they
    are)."""
    app, _, arg = command.strip().partition(" ")
    if not app:
        return True
    if app.lower() not in core.apps:
        log.warning("sim_ivr_unknown_app uuid=%s app=%s", ch.uuid, app)
        return False
    arg = arg.strip()
    await core.execute(ch, app, core.expand(ch, arg) if expand else arg)
    return True


def _event(core: SwitchCore, ch: Channel, subclass: str, menu: IvrMenu) -> None:
    core.fire_channel("CUSTOM", ch, after=[("Menu-Name", menu.name)], subclass=subclass)


async def run_menu(core: SwitchCore, ch: Channel, menu: IvrMenu, stack: _Stack) -> str:
    """One menu (and the sub-menus it calls); returns SUCCESS, EXIT, TOP or GONE."""
    stack.depth += 1
    if stack.depth > MAX_DEPTH:
        log.warning("sim_ivr_too_deep uuid=%s menu=%s", ch.uuid, menu.name)
        stack.depth -= 1
        return EXIT
    _event(core, ch, MENU_ENTER, menu)
    status = SUCCESS
    try:
        status = await _rounds(core, ch, menu, stack)
        if stack.depth == 1 and status != GONE and not _left(ch):
            await _prompt(core, ch, menu.exit_sound)
    except Interrupt:
        status = GONE
    finally:
        _event(core, ch, MENU_EXIT, menu)
        stack.depth -= 1
    return GONE if _left(ch) else status


async def _rounds(core: SwitchCore, ch: Channel, menu: IvrMenu, stack: _Stack) -> str:
    failures = timeouts = 0
    first = True
    while True:
        if _left(ch):
            return GONE
        if failures >= menu.max_failures:
            if menu.exec_on_max_failures:
                await _exec(core, ch, menu.exec_on_max_failures, expand=True)
            return SUCCESS
        if timeouts >= menu.max_timeouts:
            if menu.exec_on_max_timeouts:
                await _exec(core, ch, menu.exec_on_max_timeouts, expand=True)
            return SUCCESS
        greeting = menu.greet_long if first or not menu.greet_short else menu.greet_short
        first = False
        digits = await _collect(core, ch, menu, greeting)
        if not digits:
            timeouts += 1
            continue
        matched = False
        status = SUCCESS
        for entry in menu.entries:
            param = entry.match(digits)
            if param is None:
                continue
            matched = True
            if entry.action == "menu-exit":
                status = EXIT
            elif entry.action == "menu-back":
                return SUCCESS
            elif entry.action == "menu-top":
                status = TOP
            elif entry.action == "menu-play-sound":
                await _prompt(core, ch, param)
            elif entry.action == "menu-exec-app":
                if not await _exec(core, ch, param):
                    status = EXIT
            elif entry.action == "menu-sub" and param != menu.name:
                sub = core.ivr_menus.get(param)
                if sub is None:
                    log.warning("sim_ivr_no_menu uuid=%s menu=%s", ch.uuid, param)
                    status = EXIT
                else:
                    _event(core, ch, MENU_EXIT, menu)
                    status = await run_menu(core, ch, sub, stack)
                    _event(core, ch, MENU_ENTER, menu)
                    first = True
            if _left(ch):
                return GONE
            if status != SUCCESS:
                break
        if status == TOP and stack.depth == 1:
            first = True  # the top menu catches menu-top and starts over
            continue
        if status != SUCCESS:
            return status
        if not matched:
            log.info("sim_ivr_invalid uuid=%s menu=%s digits=%s", ch.uuid, menu.name, digits)
            # A digit pressed during invalid-sound stops it and is lost, as in FreeSWITCH.
            await _prompt(core, ch, menu.invalid_sound)
            failures += 1


async def _ivr(core: SwitchCore, ch: Channel, data: str) -> str | None:
    name = data.split()[0] if data.strip() else ""
    menu = core.ivr_menus.get(name)
    if menu is None:
        log.warning("sim_ivr_menu_not_found uuid=%s menu=%s", ch.uuid, name)
        return None
    await core.pre_answer(ch)
    await run_menu(core, ch, menu, _Stack())
    return None


IVR_MENU_APPS: dict[str, AppFunc] = {"ivr": _ivr}
