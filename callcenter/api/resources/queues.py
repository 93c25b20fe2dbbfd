"""Queues: live status (waiting callers, longest wait, agents by state, today's figures)."""

from __future__ import annotations

from pydantic import BaseModel

from callcenter.acd.live import QueueLive, queues_live
from callcenter.api.errors import ApiError, NotFound
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.calls.errors import DispositionsNotUsedError
from callcenter.calls.notes import allowed_dispositions
from callcenter.users.model import Role

__all__ = ["QueueList", "routes"]

routes = RouteTable("queues")


class QueueList(BaseModel):
    queues: list[QueueLive]


class Dispositions(BaseModel):
    queue: str
    codes: list[str]


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


@routes.get("/api/v1/tenants/{tenant}/queues/{queue}/dispositions",
            summary="The disposition codes a call of the queue may be given", role=Role.AGENT,
            response=Dispositions)  # fmt: skip
async def dispositions(call: ApiCall) -> Dispositions:
    assert call.tenant is not None
    queue = call.param("queue")
    try:
        codes = allowed_dispositions(call.ctx.center, tenant=call.tenant, queue=queue)
    except DispositionsNotUsedError as exc:
        raise ApiError(404, exc.error_id, exc.message, {"queue": queue}) from None
    return Dispositions(queue=queue, codes=codes)
