"""The ``callcenter`` command: ``callcenter <subcommand> ...``.

Subcommands so far: ``sim`` (run the simulated FreeSWITCH) and ``esl`` (run one api command
against a switch, like ``fs_cli -x``, or print a live event feed with ``--events``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Coroutine, Sequence
from typing import Any

from callcenter.esl.client import Backoff, InboundClient
from callcenter.esl.errors import EslError
from callcenter.esl.events import Event
from callcenter.logs import setup_logging
from callcenter.settings import Settings, SettingsError, load_settings

__all__ = ["main"]


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="callcenter", description="Contact-center orchestration beside FreeSWITCH."
    )
    parser.add_argument("--config", help="settings file (TOML); default: $CALLCENTER_CONFIG")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING, ERROR")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sim = sub.add_parser("sim", help="run the simulated FreeSWITCH (event socket on TCP)")
    sim.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    sim.add_argument("--esl-port", type=int, help="event socket port (default 8021)")
    sim.add_argument("--password", help="event socket password (default ClueCon)")
    sim.add_argument("--recordings-dir", help="where record_session/uuid_record write WAVs")
    sim.add_argument("--dialplan-dir", help="folder of FreeSWITCH dialplan XML to route calls")
    sim.add_argument("--time-scale", type=float, help="<1 makes simulated delays shorter")

    esl = sub.add_parser("esl", help="run one api command on a switch (like fs_cli -x)")
    esl.add_argument("api_command", nargs="?", help='e.g. "status" or "show channels as json"')
    esl.add_argument("--host", help="switch address (default 127.0.0.1)")
    esl.add_argument("--port", type=int, help="event socket port (default 8021)")
    esl.add_argument("--password", help="event socket password (default ClueCon)")
    esl.add_argument(
        "--events",
        nargs="*",
        metavar="NAME",
        help="print a live event feed (default ALL; CUSTOM subclasses as CUSTOM:<name>)",
    )
    esl.add_argument("--format", choices=["plain", "json", "xml"], default="plain")
    esl.add_argument("--count", type=int, help="with --events: stop after this many events")
    esl.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for a reply")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except SettingsError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 2
    setup_logging(args.log_level or settings.logging.level, settings.logging.json_format)
    try:
        if args.command == "sim":
            return _run(_sim(args, settings))
        if args.command == "esl":
            return _run(_esl(args, settings))
    except EslError as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    raise AssertionError(f"unhandled command {args.command}")


def _run(coro: Coroutine[Any, Any, int]) -> int:
    async def runner() -> int:
        loop = asyncio.get_running_loop()
        task = asyncio.ensure_future(coro)
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, task.cancel)
        try:
            return await task
        except asyncio.CancelledError:
            return 0

    return asyncio.run(runner())


async def _sim(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.sim import serve

    cfg = settings.sim
    host = args.host or cfg.host
    port = args.esl_port if args.esl_port is not None else cfg.esl_port
    await serve(
        host=host,
        port=port,
        password=args.password or cfg.password,
        recordings_dir=args.recordings_dir or cfg.recordings_dir,
        dialplan_dir=args.dialplan_dir or cfg.dialplan_dir,
        time_scale=args.time_scale or cfg.time_scale,
    )
    return 0


async def _esl(args: argparse.Namespace, settings: Settings) -> int:
    cfg = settings.esl
    if args.api_command is None and args.events is None:
        print("callcenter esl: give an api command or --events", file=sys.stderr)
        return 2
    client = InboundClient(
        args.host or cfg.host,
        args.port or cfg.port,
        args.password or cfg.password,
        event_format=args.format,
        reconnect=args.events is not None,
        backoff=Backoff(cfg.reconnect_initial, cfg.reconnect_max),
        connect_timeout=cfg.connect_timeout,
        command_timeout=args.timeout,
        name=f"{args.host or cfg.host}:{args.port or cfg.port}",
    )
    await client.connect()
    try:
        status = 0
        if args.api_command is not None:
            reply = await client.api(args.api_command)
            sys.stdout.write(reply if reply.endswith("\n") else reply + "\n")
            sys.stdout.flush()
            if reply.startswith(("-ERR", "-USAGE")):
                status = 1
        if args.events is not None:
            await _follow_events(client, args.events or ["ALL"], args.count)
        return status
    finally:
        await client.close()


async def _follow_events(client: InboundClient, names: list[str], count: int | None) -> None:
    custom = [n.split(":", 1)[1] for n in names if n.upper().startswith("CUSTOM:")]
    plain = [n for n in names if not n.upper().startswith("CUSTOM:")]
    done = asyncio.Event()
    seen = 0

    def show(event: Event) -> None:
        nonlocal seen
        seen += 1
        lines = [f"{k}: {v}" for k, v in event.headers.items()]
        if event.body:
            lines.append("")
            lines.append(event.body.rstrip("\n"))
        sys.stdout.write("\n".join(lines) + "\n\n")
        sys.stdout.flush()
        if count is not None and seen >= count:
            done.set()

    client.on("ALL", show)
    await client.subscribe(*plain, custom=custom)
    await done.wait()
