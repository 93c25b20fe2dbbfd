"""Two ``callcenter run`` processes share one Redis and one simulated switch (a process of its
own); one is killed (SIGKILL) while its offers ring, and the other takes its calls over.

Nothing here is timed: the test waits for outcomes with generous deadlines. The time the
survivor took to take over is computed from the event Stream and printed (``pytest -s``).
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from pathlib import Path
from typing import IO

import pytest
from redis.asyncio import Redis

from callcenter.acd.audit import double_assignments
from callcenter.acd.model import AgentStatus
from callcenter.acd.store import AcdStore
from callcenter.esl.client import InboundClient
from tests.controller.test_queue_flow import DIALPLAN

CLI = [sys.executable, "-m", "callcenter"]
AGENTS = ("1000", "1001", "1002", "1003")


def center_yaml(tenant: str) -> str:
    lines = [
        f"tenant: {tenant}",
        "queues:",
        "  - {name: support, strategy: longest-idle-agent, wrap_up_seconds: 0, max_no_answer: 0}",
        "agents:",
        *(f'  - {{id: "{a}", contact: "user/{a}@default"}}' for a in AGENTS),
        "tiers:",
        *(f'  - {{queue: support, agent: "{a}"}}' for a in AGENTS),
    ]
    return "\n".join(lines) + "\n"


async def wait_for(
    what: str, check: Callable[[], Awaitable[object]], timeout: float = 20.0
) -> object:
    deadline = time.monotonic() + timeout
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"not reached in {timeout:g} s: {what}")
        await asyncio.sleep(0.02)


class Processes:
    """The child processes of a test, ended (and their logs kept) whatever happens."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.procs: list[subprocess.Popen[str]] = []
        self.logs: list[IO[str]] = []

    def start(self, name: str, *args: str, stdout: int | None = None) -> subprocess.Popen[str]:
        log = (self.folder / f"{name}.log").open("w")
        self.logs.append(log)
        proc = subprocess.Popen(
            [*CLI, *args], stdout=stdout or subprocess.DEVNULL, stderr=log, text=True
        )
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text()

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
            if proc.stdout is not None:
                proc.stdout.close()
        for log in self.logs:
            log.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    try:
        yield procs
    finally:
        procs.close()


async def controllers(redis: Redis, store: AcdStore) -> list[str]:
    """The ids of the controllers whose heartbeat is alive."""
    prefix = store.keys.controller("")
    keys: list[bytes] = [key async for key in redis.scan_iter(match=prefix + "*")]
    return sorted(key.decode()[len(prefix) :] for key in keys)


async def test_a_killed_controllers_calls_are_taken_over_by_the_other(
    tmp_path: Path, redis_url: str, redis: Redis, processes: Processes
) -> None:
    tenant = f"t{uuid.uuid4().hex[:8]}"
    store = AcdStore(redis, tenant)
    (tmp_path / "dialplan").mkdir()
    (tmp_path / "dialplan" / "queue.xml").write_text(DIALPLAN)
    center = tmp_path / "center.yaml"
    center.write_text(center_yaml(tenant))

    sim = processes.start(
        "sim", "--log-level", "WARNING", "sim", "--esl-port", "0",
        "--dialplan-dir", str(tmp_path / "dialplan"), "--recordings-dir", str(tmp_path / "rec"),
        "--time-scale", "0.05", stdout=subprocess.PIPE,
    )  # fmt: skip
    assert sim.stdout is not None
    seen = []
    for _ in range(20):  # the first line, unless something printed before it
        line = sim.stdout.readline()
        seen.append(line)
        if line.startswith("callcenter sim: event socket on") or not line:
            break
    assert line.startswith("callcenter sim: event socket on"), (
        f"the simulator did not start: {seen!r}, exit code {sim.poll()}, "
        f"log: {processes.log('sim')!r}"
    )
    port = int(line.rsplit(":", 1)[1])
    run = [
        "run", "--center", str(center), "--esl", f"esl://:ClueCon@127.0.0.1:{port}#node1",
        "--redis", redis_url, "--recordings-dir", str(tmp_path / "rec"),
        # Rings last 600 simulated seconds (30 s here): an offer ends by an answer or a kill.
        "--ring-seconds", "600", "--no-http",
    ]  # fmt: skip
    switch = InboundClient("127.0.0.1", port, "ClueCon")
    await switch.connect()
    try:
        # Phones ring without answering for now.
        for agent in AGENTS:
            assert (await switch.api(f"sim_phone {agent}@default noanswer")).startswith("+OK")

        # Controller A alone: it makes every offer.
        a = processes.start("a", *run)
        ids = await wait_for("A's heartbeat", lambda: controllers(redis, store))
        assert isinstance(ids, list)
        (a_id,) = ids
        for agent in AGENTS:
            await store.login(agent)
            await store.ready(agent)
        calls = []
        for n in range(6):
            reply = await switch.api(f"sim_call 7000 49500000{n:02d} _ pstn 2000")
            assert reply.startswith("+OK"), reply
            calls.append(reply.split()[1])

        async def ringing_for_a() -> bool:
            owners = [await redis.hget(store.keys.agent(agent), "reserved_by") for agent in AGENTS]
            return owners == [a_id.encode()] * len(AGENTS)

        await wait_for("A's four offers ringing", ringing_for_a)
        await wait_for("two callers waiting", lambda: _count(store, 2))
        a_calls = {
            (await redis.hget(store.keys.agent(agent), "reserved_for") or b"").decode()
            for agent in AGENTS
        }

        # Controller B joins; from now on the phones answer after 10 s and talk 40 s
        # (0.5 s and 2 s here). The phones already ringing keep ringing.
        b = processes.start("b", *run)
        await wait_for("B's heartbeat", lambda: _has_n(controllers(redis, store), 2))
        for agent in AGENTS:
            reply = await switch.api(f"sim_phone {agent}@default answer 10 40")
            assert reply.startswith("+OK"), reply

        killed_ms = int(time.time() * 1000)
        os.kill(a.pid, signal.SIGKILL)
        a.wait(10)
        # More callers arrive while A is gone.
        for n in range(6, 8):
            reply = await switch.api(f"sim_call 7000 49500000{n:02d} _ pstn 2000")
            assert reply.startswith("+OK"), reply
            calls.append(reply.split()[1])

        # Every caller is served and every call ends (phones hang up after their talk time).
        async def all_ended() -> bool:
            states = [await redis.hget(store.keys.call(c), "state") for c in calls]
            return all(s == b"ended" for s in states)

        await wait_for("every call answered and ended", all_ended, timeout=60)
        assert b.poll() is None, processes.log("b")
        # A's heartbeat is gone, B's is renewed.
        await wait_for("B alone alive", lambda: _only_other(controllers(redis, store), a_id))
        assert await store.waiting("support") == []
        assert await redis.zcard(store.keys.reservations) == 0
        for agent in AGENTS:
            await wait_for(f"{agent} available", partial(_is_available, store, agent))
        # A's ringing legs were stopped: nothing is left on the switch.
        await wait_for("no channel left", lambda: _no_channels(switch))

        events = [e for _, e in await redis.xrange(store.keys.events)]
        answered = [e[b"call"].decode() for e in events if e.get(b"state") == b"answered"]
        assert sorted(answered) == sorted(calls)  # each caller answered exactly once
        assert double_assignments(events) == 0
        # B took A's four offers back (stopping the phones A rang).
        assert processes.log("b").count("queue_offer_reclaimed") == len(AGENTS)

        # How long the callers of A's offers waited for B: A killed -> their agents free again
        # -> the callers offered again by B.
        freed = _first_after(events, killed_ms, b"agent", {a.encode() for a in AGENTS},
                             b"available")  # fmt: skip
        offered = _first_after(events, killed_ms, b"call", {c.encode() for c in a_calls},
                               b"offering")  # fmt: skip
        print(
            f"\ntakeover after SIGKILL: agents freed in {max(freed) - killed_ms} ms, "
            f"A's callers offered again in {max(offered) - killed_ms} ms "
            "(lease 1.2 s, tick 0.5 s)"
        )
    finally:
        await switch.close()


async def _count(store: AcdStore, n: int) -> bool:
    return len(await store.waiting("support")) == n


async def _has_n(ids: Awaitable[list[str]], n: int) -> bool:
    return len(await ids) == n


async def _only_other(ids: Awaitable[list[str]], dead: str) -> bool:
    alive = await ids
    return len(alive) == 1 and alive != [dead]


async def _is_available(store: AcdStore, agent: str) -> bool:
    return await store.status(agent) is AgentStatus.AVAILABLE


async def _no_channels(switch: InboundClient) -> bool:
    return (await switch.api("show channels count")).strip() == "0 total."


def _first_after(
    events: list[dict[bytes, bytes]], since_ms: int, field: bytes, who: set[bytes], state: bytes
) -> list[int]:
    """For each of ``who``, when it first reached ``state`` after ``since_ms``."""
    first: dict[bytes, int] = {}
    key = b"status" if field == b"agent" else b"state"
    for e in events:
        ts = int(e.get(b"ts", b"0"))
        name = e.get(field)
        if ts >= since_ms and name in who and e.get(key) == state and name not in first:
            first[name] = ts
    assert set(first) == who, (first, who)
    return list(first.values())
