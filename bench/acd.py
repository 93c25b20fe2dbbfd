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
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

from redis.asyncio import Redis

from callcenter.acd.audit import double_assignments
from callcenter.acd.model import AgentStatus, QueueConfig, Strategy
from callcenter.acd.store import AcdStore
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.esl.client import InboundClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.acd_reserve import run as reserve_run

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


async def end_to_end(
    redis: Redis, agents: int = 200, calls: int = 1000, talk_seconds: int = 20
) -> tuple[float, int]:
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
            # Answer at once, talk talk_seconds simulated seconds (x 0.01 in real time).
            await control.api(f"sim_phone {name}@default answer 0 {talk_seconds}")
            await store.login(name)
            await store.ready(name)
        await flow.start()
        # Callers arrive in bursts of 20 commands sent without waiting for each reply; each
        # gives up after 1 000 simulated seconds (10 s) if nobody answered.
        for first in range(0, calls, 20):
            await asyncio.gather(
                *(
                    control.api(f"sim_call 7000 {n} _ pstn 1000")
                    for n in range(first, min(calls, first + 20))
                )
            )
        # A call counts once caller and agent are bridged (they talk). This process only
        # watches the Stream's length until it stops growing, so that counting costs the
        # controller nothing; the figures come from the Stream's own timestamps afterwards.
        deadline = time.perf_counter() + 120
        length, quiet = -1, 0
        while time.perf_counter() < deadline and quiet < 10:
            now_length = await redis.xlen(store.keys.events)
            quiet = quiet + 1 if now_length == length else 0
            length = now_length
            await asyncio.sleep(0.2)
        entries = await redis.xrange(store.keys.events)
        first_ts = min(int(d[b"ts"]) for _, d in entries if d.get(b"state") == b"waiting")
        bridged_ts = [int(d[b"ts"]) for _, d in entries if d.get(b"state") == b"bridged"]
        abandoned = sum(1 for _, d in entries if d.get(b"state") == b"abandoned")
        bridged = len(bridged_ts)
        elapsed = (max(bridged_ts, default=first_ts) - first_ts) / 1000 or 1e-9
        doubles = double_assignments(data for _, data in entries)
        stuck = [
            raw.decode()
            for raw in await redis.smembers(store.keys.agents)
            if await store.status(raw.decode()) is AgentStatus.RESERVED
        ]
        for agent in stuck[:3]:
            info = await store.agent(agent)
            print("left reserved:", agent, info, flush=True)
        print(
            f"end to end: {calls} callers, {agents} agents: {bridged} bridged, {abandoned} "
            f"abandoned in {elapsed:.1f} s = {bridged / elapsed:.1f} calls/s; double assigned "
            f"{doubles}; agents left reserved {len(stuck)}",
            flush=True,
        )
        return bridged / elapsed, doubles
    finally:
        await flow.stop()
        await esl.close()
        await control.close()
        sim.terminate()
        sim.wait(30)
        await clear(redis, store)
        shutil.rmtree(folder, ignore_errors=True)  # the recordings: ~640 KB per call


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
