"""The ``socket`` application: the switch connects out to a controller (outbound mode)."""

from __future__ import annotations

import asyncio
import logging

from callcenter.sim.channel import Channel
from callcenter.sim.switch import Interrupt, SwitchCore

__all__ = ["run_socket_app"]

log = logging.getLogger("callcenter.sim")


async def run_socket_app(core: SwitchCore, ch: Channel, data: str) -> None:
    """``socket <host>[:<port>][|<host2>...] [async] [full]``: park while the socket is open."""
    from callcenter.sim.listener import Listener

    words = data.split()
    if not words:
        return
    flags = {w.lower() for w in words[1:]}
    switch = core.owner
    if switch is None:
        return
    for target in words[0].split("|"):
        host, _, port_text = target.rpartition(":")
        if not host:
            host, port_text = port_text, "8084"
        host = host.split("/")[0]
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, int(port_text)), 5
            )
        except (OSError, ValueError, TimeoutError) as exc:
            log.warning(
                "sim_socket_connect_failed uuid=%s target=%s error=%s", ch.uuid, target, exc
            )
            continue
        ch.variables["socket_host"] = host
        listener = Listener(
            switch, reader, writer, session=ch, async_mode="async" in flags, full="full" in flags
        )
        task = asyncio.ensure_future(listener.run())
        core.fire_channel("CHANNEL_PARK", ch)
        try:
            while not task.done() and ch.is_up:
                try:
                    await core.wait(ch, 0.05 / max(core.time_scale, 1e-6))
                except Interrupt:
                    break
        finally:
            core.fire_channel("CHANNEL_UNPARK", ch)
        if ch.is_up and not task.done():
            # Taken away (transfer/bridge): the controller keeps the socket until it closes it.
            return
        if not ch.is_up:
            # The listener sends the disconnect or linger notice and keeps running on its own.
            return
        if ch.variables.get("socket_resume") != "true":
            ch.extra["program"] = []
        return
