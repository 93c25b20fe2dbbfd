"""``callcenter demo``: the whole center on embedded defaults, with synthetic traffic.

Starts the simulated switch, a controller on the local Redis (tenant ``demo``, cleared first),
agents' phones that answer after random delays and talk for random times, callers arriving at
a given rate who give up after a random patience, and a Celery worker process that writes the
calls' records into the database (SQLite by default) and post-processes the recordings. Prints
live figures once a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from callcenter.acd.config import (
    MIN_ANNOUNCE_SECONDS,
    AcdConfig,
    AgentEntry,
    QueueEntry,
    TierEntry,
)
from callcenter.acd.model import AgentStatus, Strategy
from callcenter.acd.store import AcdStore
from callcenter.api.server import ApiServer
from callcenter.controller.announcer import Announcer
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.db.engine import make_engine
from callcenter.db.models import Call
from callcenter.esl.client import InboundClient
from callcenter.esl.errors import EslError
from callcenter.sim import SimSwitch

__all__ = ["DemoOptions", "run_demo"]

DEMO_DIALPLAN = """<include><context name="public">
  <extension name="demo_support_line">
    <condition field="destination_number" expression="^(74950000000)$">
      <action application="set" data="cc_tenant=demo"/>
      <action application="set" data="cc_did=74950000000"/>
      <action application="set" data="cc_did_label=demo advert"/>
      <action application="answer"/>
      <action application="set" data="cc_queue=support"/>
      <action application="park"/>
    </condition>
  </extension>
</context></include>
"""


@dataclass
class DemoOptions:
    agents: int = 8
    rate: float = 0.5  # callers per second
    duration: float | None = None  # seconds; None = until Ctrl-C
    time_scale: float = 1.0
    redis_url: str = "redis://127.0.0.1:6379/0"
    seed: int | None = None
    # Where the worker writes the calls' records and the API keeps its users (None: neither),
    # and where processed recordings are kept.
    database_url: str | None = "sqlite:///var/callcenter.db"
    worker: bool = True
    storage: str = "var/storage"
    # The HTTP API and pages (None: not served).
    http_host: str = "127.0.0.1"
    http_port: int | None = 8080


@dataclass
class Figures:
    offered: int = 0
    answered: int = 0
    abandoned: int = 0
    ended: int = 0
    cdr_rows: int = 0  # calls of this run that ended and are in the database
    started: float = field(default_factory=time.monotonic)
    since: datetime = field(default_factory=lambda: datetime.now(UTC))


async def _clear_tenant(redis: Redis, store: AcdStore) -> None:
    keys = [k async for k in redis.scan_iter(match=f"{store.keys.base}*", count=1000)]
    for i in range(0, len(keys), 500):
        await redis.delete(*keys[i : i + 500])


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def _redis(url: str, out: TextIO) -> AsyncIterator[tuple[Redis, str]]:
    """The Redis at ``url``, or, when nothing answers there, a private one started from the
    installed ``redis-server`` (in memory only, stopped at the end): the demo runs right
    after the setup script even if no Redis service was started."""
    redis = Redis.from_url(url, socket_connect_timeout=2)
    try:
        await redis.ping()
    except RedisError as exc:
        await redis.aclose()
        binary = shutil.which("redis-server")
        if binary is None:
            raise RedisError(f"{exc}; and redis-server is not installed to start one") from exc
        port = _free_port()
        proc = await asyncio.create_subprocess_exec(
            binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        private = f"redis://127.0.0.1:{port}/0"
        redis = Redis.from_url(private)
        for _ in range(100):
            try:
                await redis.ping()
                break
            except RedisError:
                await asyncio.sleep(0.05)
        out.write(f"callcenter demo: no Redis at {url}; started a private one on port {port}\n")
        try:
            yield redis, private
        finally:
            await redis.aclose()
            proc.terminate()
            await proc.wait()
        return
    try:
        yield redis, url
    finally:
        await redis.aclose()


async def run_demo(options: DemoOptions, out: TextIO) -> Figures:
    async with _redis(options.redis_url, out) as (redis, url):
        return await _run_demo(options, redis, url, out)


async def _run_demo(options: DemoOptions, redis: Redis, redis_url: str, out: TextIO) -> Figures:
    rng = random.Random(options.seed)
    store = AcdStore(redis, "demo")
    await _clear_tenant(redis, store)
    folder = Path(tempfile.mkdtemp(prefix="callcenter-demo-"))
    (folder / "dialplan").mkdir()
    (folder / "dialplan" / "demo.xml").write_text(DEMO_DIALPLAN)
    switch = SimSwitch(
        time_scale=options.time_scale,
        dialplan_dir=folder / "dialplan",
        recordings_dir=folder / "recordings",
    )
    await switch.start("127.0.0.1", 0)
    agents = [f"{1000 + n}" for n in range(options.agents)]
    center = AcdConfig(
        tenant="demo",
        queues=[
            QueueEntry(
                name="support",
                strategy=Strategy.LONGEST_IDLE,
                wrap_up_seconds=3,
                # Position and estimated wait every 30 simulated seconds.
                announce_seconds=max(MIN_ANNOUNCE_SECONDS, 30 * options.time_scale),
            )
        ],
        agents=[AgentEntry(id=a, contact=f"user/{a}@default") for a in agents],
        tiers=[TierEntry(queue="support", agent=a) for a in agents],
    )
    await center.apply(store)
    for agent in agents:
        switch.phones.register(
            agent, "default", answer_after=rng.uniform(0.5, 3), hangup_after=rng.uniform(5, 25)
        )
        await store.login(agent)
        await store.ready(agent)
    esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
    await esl.connect()
    flow = QueueCallFlow(
        {"sim": esl},
        store,
        FlowSettings(ring_seconds=15, recordings_dir=folder / "recordings", tick_seconds=0.2),
    )
    await flow.start()
    announcer = Announcer({"sim": esl}, store, flow.settings.moh, tick_seconds=0.5)
    await announcer.start()
    worker = None
    if options.database_url and options.worker:
        worker = await _start_worker(options, redis_url, folder)
    api = None
    if options.database_url:
        api = await _start_api(options, redis, esl, store, center, flow.settings)
    # The run's calls are counted in the worker's database (one engine for the whole run).
    records = (
        make_engine(options.database_url) if worker is not None and options.database_url else None
    )
    figures = Figures()
    out.write(
        f"callcenter demo: simulated switch on 127.0.0.1:{switch.port}, {options.agents} agents, "
        f"{options.rate:g} callers/s, Redis {redis_url} (tenant demo). Ctrl-C to stop.\n"
    )
    if api is not None:
        out.write(
            f"pages and API on {api.url}/ : sign in as admin, supervisor or agent{agents[0]} "
            f"(password {DEMO_PASSWORD}); the OpenAPI document is {api.url}/openapi.json\n"
        )
    tasks = [
        asyncio.create_task(_callers(switch, options, rng, figures)),
        asyncio.create_task(_agents_vary(switch, agents, rng)),
        asyncio.create_task(_show(store, redis, figures, out, records)),
    ]
    try:
        if options.duration is None:
            await asyncio.Event().wait()
        else:
            await asyncio.sleep(options.duration)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await announcer.stop()
        # Everyone still on the line hangs up while the controller listens, so every call of
        # the run ends with its record.
        with contextlib.suppress(EslError, OSError):
            await esl.api("hupall NORMAL_CLEARING")
            await asyncio.sleep(1.0)
        if api is not None:
            await api.ctx.close()
            await api.stop()
            api.ctx.engine.dispose()
        await flow.stop()
        await esl.close()
        await switch.stop()
        if worker is not None:
            await _stop_worker(worker, records, figures, store)
        if records is not None:
            records.dispose()
        _leave(folder, out)
    return figures


def _leave(folder: Path, out: TextIO) -> None:
    """The run's scratch folder (the switch's WAVs, the worker's log) goes with a run that
    ended or was stopped; after a failure it stays, for its worker log."""
    error = sys.exc_info()[0]
    if error is None or issubclass(error, asyncio.CancelledError | KeyboardInterrupt):
        shutil.rmtree(folder, ignore_errors=True)
    else:
        out.write(f"the run's files (worker.log) are kept in {folder}\n")


DEMO_PASSWORD = "demo-password"


async def _start_api(
    options: DemoOptions,
    redis: Redis,
    esl: InboundClient,
    store: AcdStore,
    acd: AcdConfig,
    flow: FlowSettings,
) -> ApiServer | None:
    """The API and pages, with the demo's users (made again each run, same password), and
    live call control over the demo's tenant."""
    from callcenter.api.context import ApiContext
    from callcenter.api.serve import local_storage
    from callcenter.api.server import ApiServer
    from callcenter.center.tenant import Center
    from callcenter.controller.call_control import CallControlSettings
    from callcenter.db.migrate import upgrade

    if options.http_port is None:
        return None
    assert options.database_url is not None
    await asyncio.to_thread(upgrade, options.database_url)
    engine = make_engine(options.database_url)
    agents = sorted(a.decode() for a in await redis.smembers(store.keys.agents))
    await asyncio.to_thread(_demo_users, engine, agents)
    # The demo's ACD as a tenant of a center (with a phone user per agent), as call control
    # needs one: its users' caller ids, its routes.
    tenant = {
        "name": "demo",
        "domain": "default",
        "queues": acd.queues,
        "agents": acd.agents,
        "tiers": acd.tiers,
        "users": [{"extension": a, "password": f"Demo-{a}-Secret"} for a in agents],
    }
    ctx = ApiContext(redis=redis, engine=engine, tenants=["demo"],
                     center=Center.model_validate({"tenants": [tenant]}),
                     recordings_root=local_storage(options.storage))  # fmt: skip
    control = CallControlSettings(recordings_dir=flow.recordings_dir, moh=flow.moh)
    await ctx.controller_up({"sim": esl}, store, control)
    server = ApiServer(ctx, options.http_host, options.http_port)
    try:
        await server.start()
    except OSError as exc:
        await ctx.close()
        engine.dispose()
        raise OSError(
            f"the demo's pages cannot listen on {options.http_host}:{options.http_port} ({exc}):"
            " choose another port with --http-port, or --no-http"
        ) from exc
    return server


def _demo_users(engine: Engine, agents: list[str]) -> None:
    from callcenter.users import service as users
    from callcenter.users.errors import UserExistsError

    people: list[tuple[str, str, str | None]] = [
        ("admin", "admin", None),
        ("supervisor", "supervisor", None),
    ]
    people += [(f"agent{a}", "agent", a) for a in agents]
    for login, role, agent in people:
        try:
            users.create_user(engine, login, login.title(), DEMO_PASSWORD)
        except UserExistsError:
            users.set_password(engine, login, DEMO_PASSWORD)
        users.grant(engine, login, "demo", role, agent)


async def _start_worker(
    options: DemoOptions, redis_url: str, folder: Path
) -> asyncio.subprocess.Process:
    """``callcenter worker`` on the demo's Redis and database, after migrating the database."""
    from callcenter.db.migrate import upgrade

    assert options.database_url is not None
    await asyncio.to_thread(upgrade, options.database_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env.update(
        CALLCENTER_REDIS_URL=redis_url,
        CALLCENTER_DATABASE_URL=options.database_url,
        CALLCENTER_WORKER__RECORDINGS_DIR=str(folder / "recordings"),
        CALLCENTER_WORKER__STORAGE=options.storage,
        CALLCENTER_WORKER__INGEST_INTERVAL="0.5",
        # Only the demo's calls: the Redis may hold other centers' tenants.
        CALLCENTER_WORKER__TENANTS="demo",
        CALLCENTER_WORKER__DISCOVER_TENANTS="false",
        CALLCENTER_WORKER__QUALITY_DELAY=str(max(1.0, 10 * options.time_scale)),
        CALLCENTER_LOGGING__LEVEL="WARNING",
    )
    log = (folder / "worker.log").open("ab")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "callcenter", "worker", "--concurrency", "2",
            "--beat-schedule", str(folder / "celerybeat-schedule"),
            env=env, stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    finally:
        log.close()


async def _stop_worker(
    worker: asyncio.subprocess.Process,
    records: Engine | None,
    figures: Figures,
    store: AcdStore,
) -> None:
    """Let the worker ingest the run's last events (up to 20 s), then stop it."""
    for _ in range(80):
        if await _all_ingested(store):
            break
        await asyncio.sleep(0.25)
    if records is not None:
        figures.cdr_rows = await asyncio.to_thread(_count_calls, records, figures.since)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(worker.pid, signal.SIGTERM)
    try:
        await asyncio.wait_for(worker.wait(), 15)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        await worker.wait()


async def _all_ingested(store: AcdStore) -> bool:
    """The CDR ingest's consumer group has read and acknowledged the whole Stream."""
    try:
        groups = await store.redis.xinfo_groups(store.keys.events)
    except RedisError:
        return False
    group = next((g for g in groups if g.get("name") in (b"cdr", "cdr")), None)
    return group is not None and group.get("lag") == 0 and group.get("pending") == 0


def _count_calls(records: Engine, since: datetime) -> int:
    """Calls of this run that ended and are in the database."""
    try:
        with records.connect() as conn:
            return int(
                conn.execute(
                    select(func.count())
                    .select_from(Call)
                    .where(
                        Call.tenant == "demo",
                        Call.ended_at.is_not(None),
                        Call.started_at >= since,
                    )
                ).scalar_one()
            )
    except SQLAlchemyError:
        return 0


async def _callers(
    switch: SimSwitch, options: DemoOptions, rng: random.Random, figures: Figures
) -> None:
    n = 0
    while True:
        await asyncio.sleep(rng.expovariate(options.rate) * options.time_scale)
        n += 1
        figures.offered += 1
        await switch.callers.dial(
            "74950000000",
            caller_number=f"7916{rng.randrange(10**7):07d}",
            caller_name=f"Caller {n}",
            hangup_after=rng.uniform(20, 90),  # patience, and the end of the talk at the latest
        )


async def _agents_vary(switch: SimSwitch, agents: list[str], rng: random.Random) -> None:
    # Each agent's next answer delay and talk time change over time.
    while True:
        await asyncio.sleep(1 * switch.core.time_scale)
        phone = switch.phones.get(rng.choice(agents))
        if phone is not None:
            phone.update(answer_after=rng.uniform(0.5, 4), hangup_after=rng.uniform(5, 30))


async def _show(
    store: AcdStore, redis: Redis, figures: Figures, out: TextIO, records: Engine | None
) -> None:
    last_id = "0-0"
    while True:
        await asyncio.sleep(1)
        for _, entries in await redis.xread({store.keys.events: last_id}, count=10000) or []:
            for entry_id, data in entries:
                last_id = entry_id.decode()
                if data.get(b"type") != b"call":
                    continue
                state = data.get(b"state", b"").decode()
                if state == "answered":
                    figures.answered += 1
                elif state == "abandoned":
                    figures.abandoned += 1
                elif state == "ended":
                    figures.ended += 1
        waiting = await store.waiting("support")
        longest = 0.0
        if waiting:
            first = await redis.hget(store.keys.call(waiting[0]), "enqueued_ms")
            longest = max(0.0, time.time() - int(first or 0) / 1000)
        states: Counter[str] = Counter()
        for raw in await redis.smembers(store.keys.agents):
            states[(await store.status(raw.decode())).value] += 1
        # The queue's own service level (its threshold, today's counters in Redis).
        sl = (await store.queue_stats("support"))["service_level"]
        rate = figures.offered / max(1e-9, time.monotonic() - figures.started)
        agent_text = " ".join(f"{s.value}={states.get(s.value, 0)}" for s in AgentStatus)
        if records is not None:
            figures.cdr_rows = await asyncio.to_thread(_count_calls, records, figures.since)
        out.write(
            f"waiting={len(waiting)} longest_wait={longest:.0f}s SL={sl:.0f}% "
            f"offered={figures.offered} answered={figures.answered} "
            f"abandoned={figures.abandoned} calls/s={rate:.2f} cdr={figures.cdr_rows} "
            f"| {agent_text}\n"
        )
        out.flush()
