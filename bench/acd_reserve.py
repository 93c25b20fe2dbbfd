"""Latency of the ACD's atomic offer (reserve) in Redis as the number of agents grows.

For each size (1 000 and 10 000 agents, all available in one queue, 1 000 waiting calls), runs
1 000 reserve decisions one after another from one client and reports p50/p99 latency and
decisions/s; then agents are freed again. Uses the Redis at $CALLCENTER_REDIS_URL (default
redis://127.0.0.1:6379/15) in a tenant of its own, deleted at the end.

Part (a) of the ACD benchmark of issue 3; the end-to-end part through the simulated switch comes
with the controller. Last line:
p99_reserve_ms=<x> decisions_per_s=<y> agents=<n>
"""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import uuid

from redis.asyncio import Redis

from callcenter.acd.model import QueueConfig, Strategy, WaitingCall
from callcenter.acd.store import AcdStore


async def run(redis: Redis, agents: int, calls: int = 1000) -> tuple[float, float, float]:
    store = AcdStore(redis, f"bench{uuid.uuid4().hex[:6]}")
    await store.put_queue(QueueConfig("q", Strategy.LONGEST_IDLE))
    for n in range(agents):
        name = f"a{n}"
        await store.put_agent(name, f"user/{name}@default")
        await store.put_tier("q", name)
        await store.login(name)
        await store.ready(name)
    for n in range(calls):
        await store.enqueue(WaitingCall(f"c{n}", "q"))
    latencies = []
    start = time.perf_counter()
    for _ in range(calls):
        t0 = time.perf_counter()
        offers = await store.reserve("q")
        latencies.append((time.perf_counter() - t0) * 1000)
        assert len(offers) == 1
    elapsed = time.perf_counter() - start
    keys = [k async for k in redis.scan_iter(match=f"{store.keys.base}*", count=1000)]
    for i in range(0, len(keys), 500):
        await redis.delete(*keys[i : i + 500])
    latencies.sort()
    p50 = statistics.median(latencies)
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return p50, p99, calls / elapsed


async def main() -> None:
    url = os.environ.get("CALLCENTER_REDIS_URL", "redis://127.0.0.1:6379/15")
    redis = Redis.from_url(url)
    last = (0.0, 0.0, 0.0)
    size = 0
    try:
        for size in (1000, 10000):
            last = await run(redis, size)
            p50, p99, rate = last
            print(
                f"agents={size:>6} waiting=1000  reserve p50={p50:.3f} ms  p99={p99:.3f} ms  "
                f"{rate:,.0f} decisions/s",
                flush=True,
            )
    finally:
        await redis.aclose()
    print(f"p99_reserve_ms={last[1]:.3f} decisions_per_s={last[2]:.0f} agents={size}")


if __name__ == "__main__":
    asyncio.run(main())
