"""Queues: live status (waiting callers, longest wait, agents by state, today's figures)."""

from __future__ import annotations

from pydantic import BaseModel

from callcenter.acd.live import QueueLive, queues_live
from callcenter.api.errors import NotFound
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.users.model import Role

__all__ = ["QueueList", "routes"]

routes = RouteTable("queues")


class QueueList(BaseModel):
    queues: list[QueueLive]


@routes.get("/api/v1/tenants/{tenant}/queues", summary="Queues and their live status",
            role=Role.AGENT, response=QueueList)  # fmt: skip
async def list_queues(call: ApiCall) -> QueueList:
    assert call.tenant is not None
    return QueueList(queues=await queues_live(call.ctx.store(call.tenant)))


@routes.get("/api/v1/tenants/{tenant}/queues/{queue}",
            summary="One queue with its waiting callers", role=Role.AGENT,
            response=QueueLive)  # fmt: skip
async def get_queue(call: ApiCall) -> QueueLive:
    assert call.tenant is not None
    name = call.param("queue")
    for queue in await queues_live(call.ctx.store(call.tenant), with_calls=True):
        if queue.name == name:
            return queue
    raise NotFound("unknown-queue", f"no queue {name!r} in tenant {call.tenant!r}",
                   {"queue": name})  # fmt: skip
