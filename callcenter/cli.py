"""The ``callcenter`` command: ``callcenter <subcommand> ...``.

Subcommands: ``sim`` (the simulated FreeSWITCH), ``esl`` (one api command, like ``fs_cli -x``,
or a live event feed), ``run`` (the controller), ``demo`` (everything with synthetic traffic),
``agent`` (login/ready/break/logout), ``queue`` (list/status), ``dialplan``
(render/diff/push the FreeSWITCH configuration generated from the center file), ``xmlcurl``
(serve that configuration live to mod_xml_curl), ``worker`` (the Celery workers), ``db``
(database migrations), ``calls`` (call records: show, worst scores, comment, disposition) and
``user`` (users of the pages and the API, roles, API tokens) and ``report`` (reports as a table,
CSV, XLSX, JSON or PDF).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Coroutine, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from redis.exceptions import RedisError

from callcenter.acd.config import AcdConfigError
from callcenter.acd.errors import AcdError
from callcenter.cli_reports import add_report_parser, run_report_command
from callcenter.cli_users import add_user_parser, run_user_command
from callcenter.esl.client import Backoff, InboundClient
from callcenter.esl.errors import EslError
from callcenter.esl.events import Event
from callcenter.logs import setup_logging
from callcenter.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from callcenter.acd.store import AcdStore
    from callcenter.controller.center_reload import CenterReload
    from callcenter.controller.queue_flow import FlowSettings
    from callcenter.controller.runner import NodeAddress

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
    sim.add_argument(
        "--conf-dir",
        help="node configuration folder (dialplan/, directory/, ivr_menus/, sip_profiles/)",
    )
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

    run = sub.add_parser("run", help="run the controller against one or more switch nodes")
    run.add_argument(
        "--center", required=True, help="the center's configuration (a YAML file or a folder)"
    )
    run.add_argument(
        "--tenant", help="the tenant to run (needed when the center file holds several)"
    )
    run.add_argument(
        "--esl",
        action="append",
        required=True,
        metavar="URL",
        help="a switch node: esl://:password@host:port[#name] (repeat for several nodes)",
    )
    run.add_argument("--redis", help="Redis URL (default from settings: redis_url)")
    run.add_argument("--recordings-dir", default="var/recordings")
    run.add_argument("--ring-seconds", type=int, default=20)
    run.add_argument(
        "--callback-dial",
        help="dial string for callbacks, {number} is the customer's number (default: the "
        "tenant's outbound routes; sofia/gateway/pstn/{number} with a single-tenant ACD file)",
    )
    run.add_argument(
        "--callback-caller-id", help="number callbacks show (default: the number the caller dialed)"
    )
    run.add_argument("--http-host", help="HTTP API and pages: address (default from settings)")
    run.add_argument(
        "--http-port", type=int, help="HTTP API and pages: port (default from settings: 8080)"
    )
    run.add_argument("--no-http", action="store_true", help="serve no HTTP API or pages")

    demo = sub.add_parser("demo", help="the whole center on the simulated switch with traffic")
    demo.add_argument("--agents", type=int, default=8)
    demo.add_argument("--rate", type=float, default=0.5, help="callers per second")
    demo.add_argument("--duration", type=float, help="stop after this many seconds")
    demo.add_argument("--time-scale", type=float, default=1.0)
    demo.add_argument("--redis", help="Redis URL (default from settings: redis_url)")
    demo.add_argument("--seed", type=int)
    demo.add_argument(
        "--no-worker", action="store_true", help="no Celery worker (no call records written)"
    )
    demo.add_argument("--http-host", help="HTTP API and pages: address (default from settings)")
    demo.add_argument(
        "--http-port", type=int, help="HTTP API and pages: port (default from settings: 8080)"
    )
    demo.add_argument("--no-http", action="store_true", help="serve no HTTP API or pages")

    agent = sub.add_parser("agent", help="change an agent's state: login, ready, break, logout")
    agent.add_argument("action", choices=["login", "ready", "break", "logout", "show"])
    agent.add_argument("agent_id")
    agent.add_argument("--tenant", default="default")
    agent.add_argument("--reason", default="break", help="with break: the reason")
    agent.add_argument("--contact", help="with login: where to ring (e.g. user/1000@default)")
    agent.add_argument("--redis", help="Redis URL (default from settings: redis_url)")

    queue = sub.add_parser("queue", help="list queues or show a queue's live status")
    queue.add_argument("action", choices=["list", "status"])
    queue.add_argument("queue_name", nargs="?")
    queue.add_argument("--tenant", default="default")
    queue.add_argument("--redis", help="Redis URL (default from settings: redis_url)")

    dialplan = sub.add_parser(
        "dialplan", help="FreeSWITCH configuration from the center file: render, diff, push"
    )
    dialplan_sub = dialplan.add_subparsers(dest="dialplan_command", required=True, metavar="ACTION")
    for name, text in (
        ("render", "write every generated file to a folder"),
        ("diff", "show what a push would change on a node"),
        ("push", "validate, write to each node's conf folder and run reloadxml"),
    ):
        action = dialplan_sub.add_parser(name, help=text)
        action.add_argument(
            "--config",
            "--center",
            dest="center",
            required=True,
            metavar="FILE",
            help="the center's configuration (a YAML file or a folder)",
        )
        action.add_argument(
            "--templates", metavar="DIR", help="your templates, used before the project's"
        )
        if name == "render":
            action.add_argument("--out", required=True, metavar="DIR", help="where to write")
        else:
            action.add_argument(
                "--node",
                action="append" if name == "push" else "store",
                required=True,
                metavar="URL",
                help="esl://:password@host:port?conf=/etc/freeswitch#name"
                + (" (repeat for several nodes)" if name == "push" else ""),
            )

    worker = sub.add_parser(
        "worker",
        help="run the Celery workers: CDR ingest, recordings, quality scores, retention",
    )
    worker.add_argument("--concurrency", type=int, help="worker threads (default from settings)")
    worker.add_argument(
        "--queues",
        default="cdr,callcenter",
        help="cdr (the CDR ingest), callcenter (recordings, scores, retention); default both",
    )
    worker.add_argument(
        "--no-beat", action="store_true", help="no embedded beat (run one beat per center)"
    )
    worker.add_argument(
        "--beat-schedule",
        default="var/celerybeat-schedule",
        help="where the embedded beat keeps its schedule state",
    )

    calls = sub.add_parser(
        "calls", help="call records: show one, the worst quality scores, comment, disposition"
    )
    calls.add_argument("calls_command", choices=["show", "worst", "comment", "disposition"])
    calls.add_argument("call_uuid", nargs="?", help="the call (show, comment, disposition)")
    calls.add_argument("code", nargs="?", help="disposition: the code, from the queue's list")
    calls.add_argument("--tenant", default="default")
    calls.add_argument("--limit", type=int, default=20, help="worst: how many")
    calls.add_argument("--author", help="comment, disposition: who (a name or login)")
    calls.add_argument("--text", help="comment: the text")
    calls.add_argument("--offset", type=float, help="comment: seconds into the recording")
    calls.add_argument(
        "--center", help="disposition: the center file (default: the settings' [worker] center)"
    )

    add_user_parser(sub)
    add_report_parser(sub)

    db = sub.add_parser(
        "db",
        help="the database: upgrade (apply migrations), current, rollups (rebuild the reports' "
        "roll-ups from the CDRs, e.g. after an upgrade)",
    )
    db.add_argument("db_command", choices=["upgrade", "current", "rollups"])
    db.add_argument(
        "--from", dest="start", help="rollups: the first UTC day (default: the first CDR)"
    )
    db.add_argument("--to", dest="end", help="rollups: the last UTC day (default: the last CDR)")
    db.add_argument("--tenant", help="rollups: one tenant (default: all)")

    xmlcurl = sub.add_parser(
        "xmlcurl",
        help="serve the dialplan, directory and IVR menus to FreeSWITCH's mod_xml_curl",
    )
    xmlcurl.add_argument(
        "--config",
        "--center",
        dest="center",
        required=True,
        metavar="FILE",
        help="the center's configuration (a YAML file or a folder); SIGHUP reads it again",
    )
    xmlcurl.add_argument(
        "--templates", metavar="DIR", help="your templates, used before the project's"
    )
    xmlcurl.add_argument("--host", help="address to listen on (default from settings: 127.0.0.1)")
    xmlcurl.add_argument("--port", type=int, help="port to listen on (default from settings: 8081)")
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
        if args.command == "run":
            return _run(_controller(args, settings))
        if args.command == "demo":
            return _run(_demo(args, settings))
        if args.command == "agent":
            return _run(_agent(args, settings))
        if args.command == "queue":
            return _run(_queue(args, settings))
        if args.command == "dialplan":
            return _run(_dialplan(args, settings))
        if args.command == "xmlcurl":
            return _run(_xmlcurl(args, settings))
        if args.command == "worker":
            return _worker(args, settings)
        if args.command == "db":
            return _db(args, settings)
        if args.command == "calls":
            return _calls(args, settings)
        if args.command == "user":
            return run_user_command(args, settings)
        if args.command == "report":
            return run_report_command(args, settings)
    except (EslError, AcdError, AcdConfigError, ValueError) as exc:
        print(f"callcenter: {exc}", file=sys.stderr)
        return 1
    except RedisError as exc:
        print(f"callcenter: Redis is not reachable: {exc}", file=sys.stderr)
        return 1
    raise AssertionError(f"unhandled command {args.command}")


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from workers.app import make_app
    from workers.context import use_settings

    use_settings(settings)
    app = make_app(settings)
    Path(args.beat_schedule).parent.mkdir(parents=True, exist_ok=True)
    argv = [
        "worker",
        "--pool=threads",
        f"--concurrency={args.concurrency or settings.worker.concurrency}",
        f"--queues={args.queues}",
        f"--loglevel={args.log_level or settings.logging.level}",
        "--without-gossip",
        "--without-mingle",
    ]
    if not args.no_beat:
        argv += ["--beat", f"--schedule={args.beat_schedule}"]
    app.worker_main(argv)
    return 0


def _db(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from callcenter.db.migrate import current, upgrade

    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        if args.db_command == "upgrade":
            upgrade(settings.database_url)
            print(f"database at the latest schema: {_safe_url(settings.database_url)}")
        elif args.db_command == "rollups":
            from callcenter.cli_rollups import rebuild_rollups

            return rebuild_rollups(settings, args.start, args.end, args.tenant)
        else:
            current(settings.database_url)
    except SQLAlchemyError as exc:
        print(f"callcenter: database {_safe_url(settings.database_url)}: {exc}", file=sys.stderr)
        return 1
    return 0


def _calls(args: argparse.Namespace, settings: Settings) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from callcenter.calls import NotesError, add_comment, set_disposition
    from callcenter.calls.record_text import call_record_text
    from callcenter.center import load_center
    from callcenter.db.engine import make_engine
    from workers.quality import worst_calls

    command = args.calls_command
    if command != "worst" and not args.call_uuid:
        print(f"callcenter calls {command}: give the call's UUID", file=sys.stderr)
        return 2
    engine = make_engine(settings.database_url)
    try:
        if command == "show":
            print(call_record_text(engine, tenant=args.tenant, call_uuid=args.call_uuid))
        elif command == "worst":
            for scored in worst_calls(engine, tenant=args.tenant, limit=args.limit):
                why = "; ".join(str(r["detail"]) for r in scored.reasons)
                print(f"{scored.score:3d} {scored.call_uuid} queue={scored.queue} "
                      f"agent={scored.agent} ended={scored.ended_at} {why}")  # fmt: skip
        elif command == "comment":
            note = add_comment(
                engine, tenant=args.tenant, call_uuid=args.call_uuid,
                author=args.author or "", text=args.text or "", offset_s=args.offset,
            )  # fmt: skip
            print(f"comment {note.id} added to {note.call_uuid}")
        else:
            path = args.center or settings.worker.center
            center = load_center(path) if path else None
            chosen = set_disposition(
                engine, center, tenant=args.tenant, call_uuid=args.call_uuid,
                code=args.code or "", set_by=args.author or "",
            )  # fmt: skip
            print(f"disposition {chosen.code} set on {chosen.call_uuid}")
    except NotesError as exc:
        print(f"callcenter: {exc.message}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"callcenter: database {_safe_url(settings.database_url)}: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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
        conf_dir=args.conf_dir,
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


async def _controller(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from callcenter.acd.config import load_acd_and_center
    from callcenter.controller.center_reload import CenterReload
    from callcenter.controller.queue_flow import FlowSettings
    from callcenter.controller.runner import parse_node

    center, whole = load_acd_and_center(args.center, args.tenant)
    reload = CenterReload(args.center, center, whole)
    nodes = [parse_node(url, settings.esl.password) for url in args.esl]
    flow = FlowSettings(
        ring_seconds=args.ring_seconds,
        recordings_dir=Path(args.recordings_dir),
        callback_dial=args.callback_dial,
        callback_caller_id=args.callback_caller_id,
    )
    redis_url = args.redis or settings.redis_url
    loop = asyncio.get_running_loop()
    # SIGHUP: read the center file again (agents keep their state; see center_reload.py).
    loop.add_signal_handler(signal.SIGHUP, reload.request)
    try:
        return await _run_controller(args, settings, reload, flow, nodes, redis_url)
    finally:
        loop.remove_signal_handler(signal.SIGHUP)


async def _run_controller(
    args: argparse.Namespace,
    settings: Settings,
    reload: CenterReload,
    flow: FlowSettings,
    nodes: list[NodeAddress],
    redis_url: str,
) -> int:
    from pathlib import Path

    from callcenter.api.serve import start_api
    from callcenter.controller.runner import redis_client, run_controller

    center, whole = reload.acd, reload.center
    if args.no_http:
        await run_controller(center, redis_url, nodes, flow, reload=reload)
        return 0

    api_redis = redis_client(redis_url)
    from callcenter.controller.call_control import CallControlSettings

    conf_dirs = {node.name: node.conf_dir for node in nodes if node.conf_dir is not None}
    try:
        api = await start_api(settings, api_redis, [center.tenant], whole,
                              args.http_host, args.http_port, center_path=Path(args.center),
                              conf_dirs=conf_dirs)  # fmt: skip
    except OSError as exc:
        await api_redis.aclose()
        print(
            f"callcenter: the HTTP API cannot listen ({exc}): give each controller on a host "
            "its own --http-port (or [http] port / CALLCENTER_HTTP__PORT), or --no-http",
            file=sys.stderr,
        )
        return 1
    control = CallControlSettings(recordings_dir=flow.recordings_dir, moh=flow.moh)
    reload.on_reloaded(api.ctx.center_reloaded)

    async def connected(clients: Mapping[str, InboundClient], store: AcdStore) -> None:
        await api.ctx.controller_up(clients, store, control)

    try:
        await run_controller(center, redis_url, nodes, flow, on_connected=connected, reload=reload)
    finally:
        await api.ctx.close()
        await api.stop()
        api.ctx.engine.dispose()
        await api_redis.aclose()
    return 0


async def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from callcenter.demo import DemoOptions, run_demo

    if not args.log_level:
        # The live figures are the demo's output; per-call log lines would drown them.
        logging.getLogger("callcenter").setLevel(logging.WARNING)
    options = DemoOptions(
        agents=args.agents,
        rate=args.rate,
        duration=args.duration,
        time_scale=args.time_scale,
        redis_url=args.redis or settings.redis_url,
        seed=args.seed,
        database_url=settings.database_url,
        worker=not args.no_worker,
        storage=settings.worker.storage,
        http_host=args.http_host or settings.http.host,
        http_port=None
        if args.no_http
        else (settings.http.port if args.http_port is None else args.http_port),
    )
    try:
        figures = await run_demo(options, sys.stdout)
    except OSError as exc:  # its pages' port taken, say: what to do, not a traceback
        print(f"callcenter demo: {exc}", file=sys.stderr)
        return 1
    print(
        f"demo: offered={figures.offered} answered={figures.answered} "
        f"abandoned={figures.abandoned} ended={figures.ended} cdr={figures.cdr_rows}"
    )
    return 0


async def _agent(args: argparse.Namespace, settings: Settings) -> int:
    from redis.asyncio import Redis

    from callcenter.acd.store import AcdStore

    redis = Redis.from_url(args.redis or settings.redis_url)
    try:
        store = AcdStore(redis, args.tenant)
        if args.action == "login":
            await store.login(args.agent_id, args.contact)
        elif args.action == "ready":
            await store.ready(args.agent_id)
        elif args.action == "break":
            await store.take_break(args.agent_id, args.reason)
        elif args.action == "logout":
            await store.logout(args.agent_id)
        data = await store.agent(args.agent_id)
        reason = f" ({data['reason']})" if data.get("reason") else ""
        print(f"{args.agent_id}: {data.get('status')}{reason}")
        return 0
    finally:
        await redis.aclose()


async def _queue(args: argparse.Namespace, settings: Settings) -> int:
    from redis.asyncio import Redis

    from callcenter.acd.store import AcdStore

    redis = Redis.from_url(args.redis or settings.redis_url)
    try:
        store = AcdStore(redis, args.tenant)
        names = sorted(q.decode() for q in await redis.smembers(store.keys.queues))
        if args.action == "list":
            for name in names:
                config = await store.queue_config(name)
                print(f"{name}\t{config.strategy.value}\twaiting={len(await store.waiting(name))}")
            return 0
        wanted = [args.queue_name] if args.queue_name else names
        for name in wanted:
            config = await store.queue_config(name)
            tiers = await redis.hgetall(store.keys.queue_tiers(name))
            states: dict[str, list[str]] = {}
            for raw in sorted(tiers):
                agent = raw.decode()
                states.setdefault((await store.status(agent)).value, []).append(agent)
            waiting = await store.waiting(name)
            longest = 0.0
            if waiting:
                enqueued = await redis.hget(store.keys.call(waiting[0]), "enqueued_ms")
                longest = max(0.0, time.time() - int(enqueued or 0) / 1000)
            stats = await store.queue_stats(name)
            print(f"queue {name} ({config.strategy.value})")
            print(f"  waiting: {len(waiting)}, longest {longest:.0f} s")
            print(
                f"  today (UTC): offered {stats['offered']:.0f}, answered {stats['answered']:.0f}, "
                f"abandoned {stats['abandoned']:.0f}, service level {stats['service_level']:.0f}% "
                f"within {config.service_level_seconds:g} s, average wait "
                f"{stats['avg_wait_s']:.0f} s, average talk {stats['avg_talk_s']:.0f} s"
            )
            for state, agents in sorted(states.items()):
                print(f"  {state}: {' '.join(agents)}")
        return 0
    finally:
        await redis.aclose()


async def _dialplan(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from callcenter.center import CenterError, load_center
    from callcenter.controller.runner import parse_node
    from callcenter.dialplan.push import PushResult, diff_node, push_node
    from callcenter.dialplan.render import RenderError, render_center

    nodes: list[NodeAddress] = []
    if args.dialplan_command != "render":
        urls = args.node if isinstance(args.node, list) else [args.node]
        nodes = [parse_node(url, settings.esl.password) for url in urls]
        missing = [node.name for node in nodes if node.conf_dir is None]
        if missing:
            print(
                f"callcenter dialplan: node(s) {', '.join(missing)} without ?conf=<folder>: "
                "where their configuration goes (esl://...?conf=/etc/freeswitch#name)",
                file=sys.stderr,
            )
            return 2
    try:
        center = load_center(args.center)
        files = render_center(center, Path(args.templates) if args.templates else None)
    except (CenterError, RenderError) as exc:
        problems = exc.problems
        print(f"callcenter dialplan: {len(problems)} problem(s), nothing written:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1

    if args.dialplan_command == "render":
        out = Path(args.out)
        for name, text in sorted(files.items()):
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        print(f"wrote {len(files)} files to {out}")
        return 0

    if args.dialplan_command == "diff":
        node = nodes[0]
        assert node.conf_dir is not None
        diff = diff_node(node.conf_dir, files)
        sys.stdout.write(diff if diff else f"{node.name}: no changes\n")
        return 0

    failed = 0
    for node in nodes:
        assert node.conf_dir is not None
        client = InboundClient(
            node.host,
            node.port,
            node.password,
            reconnect=False,
            connect_timeout=settings.esl.connect_timeout,
            command_timeout=settings.esl.command_timeout,
            name=node.name,
        )
        try:
            await client.connect()
        except (EslError, OSError) as exc:
            failed += 1
            reason = str(exc).removeprefix(f"{node.name}: ")
            print(f"{node.name}: FAILED {reason} (nothing written)")
            continue
        note = ""
        try:
            result = await push_node(node.name, node.conf_dir, client.api, files)
            if result.ok:
                note = await _restart_gateways(client, [*result.written, *result.removed])
        except (ValueError, OSError) as exc:  # a broken manifest, an unwritable folder
            result = PushResult(node.name, False, message=str(exc))
        finally:
            await client.close()
        if result.ok:
            print(
                f"{node.name}: OK ({len(result.written)} written, {len(result.removed)} removed; "
                f"reloadxml {result.message}{note})"
            )
        else:
            failed += 1
            print(f"{node.name}: FAILED {result.message}")
    return 1 if failed else 0


async def _xmlcurl(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from callcenter.center import CenterError
    from callcenter.dialplan.render import RenderError
    from callcenter.xmlcurl import LiveConfig, serve

    cfg = settings.xmlcurl
    try:
        live = LiveConfig.load(Path(args.center), Path(args.templates) if args.templates else None)
    except (CenterError, RenderError) as exc:
        problems = exc.problems
        print(f"callcenter xmlcurl: {len(problems)} problem(s), not serving:", file=sys.stderr)
        for problem in problems:
            print(f"  {problem}", file=sys.stderr)
        return 1
    host = args.host or cfg.host
    port = args.port if args.port is not None else cfg.port
    try:
        await serve(live, host, port, cfg.username, cfg.password)
    except OSError as exc:
        print(f"callcenter xmlcurl: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    return 0


async def _restart_gateways(client: InboundClient, changed: list[str]) -> str:
    """reloadxml does not touch sofia's gateways: stop the ones whose file changed or went,
    then rescan the profile so that the changed and new ones start (as ``sofia profile external
    killgw`` / ``rescan`` do by hand). Returns a note for the node's line."""
    prefix, suffix = "sip_profiles/external/callcenter_", ".xml"
    gateways = [n[len(prefix) : -len(suffix)] for n in changed if n.startswith(prefix)]
    if not gateways:
        return ""
    try:
        for gateway in gateways:
            await client.api(f"sofia profile external killgw {gateway}")
        await client.api("sofia profile external rescan")
    except EslError as exc:
        return f"; gateways not (re)started: {exc}"
    return f"; gateways (re)started: {', '.join(gateways)}"


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
