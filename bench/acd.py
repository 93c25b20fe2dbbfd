"""ACD benchmark (issue 3): reserve latency at scale, and calls routed end to end.

(a) reserve p50/p99 and decisions/s with 10 000 agents and 1 000 waiting calls (one Lua call
    per decision; see acd_reserve.py for the 1 000 vs 10 000 comparison);
(b) end-to-end calls/s through the simulated switch by one controller (QueueCallFlow in this
    process, the simulated switch in a child process so the two do not share a core): callers
    dial in as fast as the switch takes them, agents answer at once and hang up after a short
    talk; a call counts when it was answered by an agent. Double assignment is read back from
    the event Stream: an agent that goes on a call while already reserved for or on another.

Uses the Redis at $CALLCENTER_REDIS_URL (default redis://127.0.0.1:6379/15), in tenants of its
own that are deleted at the end. Last line:
p99_reserve_ms=<x> decisions_per_s=<y> e2e_calls_per_s=<z> double_assigned=<n>
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from redis.asyncio import Redis

from callcenter.acd.model import AgentStatus, QueueConfig, Strategy
from callcenter.acd.store import AcdStore
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.esl.client import InboundClient

sys.path.insert(0, str(Path(__file__).resolve().parent))
from acd_reserve import run as reserve_run

DIALPLAN = """<include><context name="public">
  <extension name="bench"><condition field="destination_number" expression="^7000$">
    <action application="answer"/><action application="set" data="cc_queue=bench"/>
    <action application="park"/>
  </condition></extension>
</context></include>
"""


async def clear(redis: Redis, store: AcdStore) -> None:
    keys = [k async for k in redis.scan_iter(match=f"{store.keys.base}*", count=1000)]
    for i in range(0, len(keys), 500):
        await redis.delete(*keys[i : i + 500])


def double_assignments(entries: list[tuple[bytes, dict[bytes, bytes]]]) -> int:
    busy: dict[bytes, bytes] = {}
    doubles = 0
    for _, data in entries:
        if data.get(b"type") != b"agent":
            continue
        agent = data[b"agent"]
        status = data[b"status"]
        if status == b"reserved":
            if busy.get(agent) in (b"reserved", b"on_call"):
                doubles += 1
            busy[agent] = b"reserved"
        elif status == b"on_call":
            if busy.get(agent) == b"on_call":
                doubles += 1
            busy[agent] = b"on_call"
        else:
            busy[agent] = status
    return doubles


async def end_to_end(redis: Redis, agents: int = 50, calls: int = 600) -> tuple[float, int]:
    folder = Path(f"/tmp/callcenter-bench-{uuid.uuid4().hex[:6]}")
    (folder / "dialplan").mkdir(parents=True)
    (folder / "dialplan" / "bench.xml").write_text(DIALPLAN)
    sim = subprocess.Popen(  # noqa: ASYNC220 - started once, before any timing
        [sys.executable, "-m", "callcenter", "--log-level", "WARNING", "sim", "--esl-port", "0",
         "--dialplan-dir", str(folder / "dialplan"), "--recordings-dir", str(folder / "rec"),
         "--time-scale", "0.01"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert sim.stdout is not None
    port = int(sim.stdout.readline().rsplit(":", 1)[1])
    store = AcdStore(redis, f"benche2e{uuid.uuid4().hex[:6]}")
    control = InboundClient("127.0.0.1", port, "ClueCon", command_timeout=120)
    esl = InboundClient("127.0.0.1", port, "ClueCon", command_timeout=120)
    await control.connect()
    await esl.connect()
    flow = QueueCallFlow(
        {"sim": esl}, store, FlowSettings(ring_seconds=3, recordings_dir=folder / "rec")
    )
    try:
        await store.put_queue(QueueConfig("bench", Strategy.LONGEST_IDLE, wrap_up_seconds=0))
        for n in range(agents):
            name = f"{1000 + n}"
            await store.put_agent(name, f"user/{name}@default")
            await store.put_tier("bench", name)
            # Answer at once, talk 1 simulated second (10 ms at this time scale).
            await control.api(f"sim_phone {name}@default answer 0 1")
            await store.login(name)
            await store.ready(name)
        await flow.start()
        start = time.perf_counter()
        for n in range(calls):
            # A caller gives up after 1 000 simulated seconds (10 s) if nobody answered.
            await control.api(f"sim_call 7000 {n} _ pstn 1000")
        answered = 0
        deadline = time.perf_counter() + 120
        while time.perf_counter() < deadline:
            events = await redis.xrange(store.keys.events)
            answered = sum(1 for _, d in events if d.get(b"state") == b"answered")
            settled = sum(1 for _, d in events if d.get(b"state") in (b"answered", b"abandoned"))
            if settled >= calls:
                break
            await asyncio.sleep(0.2)
        elapsed = time.perf_counter() - start
        # Offers still ringing when the last caller settled end within their ring time.
        await asyncio.sleep(5)
        doubles = double_assignments(await redis.xrange(store.keys.events))
        stuck = [
            raw.decode()
            for raw in await redis.smembers(store.keys.agents)
            if await store.status(raw.decode()) is AgentStatus.RESERVED
        ]
        for agent in stuck[:3]:
            info = await store.agent(agent)
            print("left reserved:", agent, info, flush=True)
        print(
            f"end to end: {calls} callers, {agents} agents: {answered} answered in "
            f"{elapsed:.1f} s = {answered / elapsed:.1f} calls/s; double assigned {doubles}; "
            f"agents left reserved {len(stuck)}",
            flush=True,
        )
        return answered / elapsed, doubles
    finally:
        await flow.stop()
        await esl.close()
        await control.close()
        sim.terminate()
        sim.wait(10)
        await clear(redis, store)


async def main() -> None:
    url = os.environ.get("CALLCENTER_REDIS_URL", "redis://127.0.0.1:6379/15")
    redis = Redis.from_url(url)
    try:
        p50, p99, rate = await reserve_run(redis, 10_000)
        print(f"reserve, 10 000 agents, 1 000 waiting: p50={p50:.3f} ms p99={p99:.3f} ms "
              f"{rate:,.0f} decisions/s", flush=True)  # fmt: skip
        e2e, doubles = await end_to_end(redis)
    finally:
        await redis.aclose()
    print(
        f"p99_reserve_ms={p99:.3f} decisions_per_s={rate:.0f} "
        f"e2e_calls_per_s={e2e:.1f} double_assigned={doubles}"
    )


if __name__ == "__main__":
    asyncio.run(main())
