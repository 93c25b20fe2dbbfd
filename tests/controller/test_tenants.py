"""Two tenants' controllers on one switch: each takes only its own callers."""

from __future__ import annotations

import uuid
from pathlib import Path

from redis.asyncio import Redis

from callcenter.acd.model import AgentStatus, QueueConfig
from callcenter.acd.store import AcdStore
from callcenter.controller.queue_flow import FlowSettings, QueueCallFlow
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from tests.controller.test_queue_flow import agent_is, until


def dialplan(did: str, tenant: str) -> str:
    return f"""<include><context name="public">
  <extension name="{tenant}"><condition field="destination_number" expression="^{did}$">
    <action application="answer"/>
    <action application="set" data="cc_tenant={tenant}"/>
    <action application="set" data="cc_queue=support"/>
    <action application="park"/>
  </condition></extension>
</context></include>
"""


async def test_each_tenants_controller_takes_only_its_callers(tmp_path: Path, redis: Redis) -> None:
    acme = AcdStore(redis, f"acme{uuid.uuid4().hex[:6]}")
    globex = AcdStore(redis, f"globex{uuid.uuid4().hex[:6]}")
    plan = tmp_path / "dialplan"
    plan.mkdir()
    (plan / "acme.xml").write_text(dialplan("7001", acme.keys.tenant))
    (plan / "globex.xml").write_text(dialplan("7002", globex.keys.tenant))
    switch = SimSwitch(time_scale=0.05, dialplan_dir=plan, recordings_dir=tmp_path / "rec")
    await switch.start("127.0.0.1", 0)
    flows: list[QueueCallFlow] = []
    clients: list[InboundClient] = []
    try:
        for store, agent in ((acme, "1000"), (globex, "2000")):
            # Both tenants have a queue named "support".
            await store.put_queue(QueueConfig("support", wrap_up_seconds=0))
            await store.put_agent(agent, f"user/{agent}@default")
            await store.put_tier("support", agent)
            switch.phones.register(agent, "default", answer_after=0.2)
            esl = InboundClient("127.0.0.1", switch.port, "ClueCon")
            await esl.connect()
            clients.append(esl)
            flow = QueueCallFlow(
                {"node1": esl}, store, FlowSettings(recordings_dir=tmp_path / "rec")
            )
            await flow.start()
            flows.append(flow)
            await store.login(agent)
            await store.ready(agent)
        call = await switch.callers.dial("7002", caller_number="5", hangup_after=120)
        await until(lambda: agent_is(globex, "2000", AgentStatus.ON_CALL))
        await until(lambda: switch.channels[call.uuid].other_uuid is not None)
        # acme's controller left globex's caller alone: not enqueued, not killed.
        assert not await redis.exists(acme.keys.call(call.uuid))
        assert await acme.status("1000") is AgentStatus.AVAILABLE
        assert await redis.hget(globex.keys.call(call.uuid), "agent") == b"2000"
    finally:
        for flow in flows:
            await flow.stop()
        for client in clients:
            await client.close()
        await switch.stop()
