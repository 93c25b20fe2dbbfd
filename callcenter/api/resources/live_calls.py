"""Live calls: the calls in progress, and what an agent or a supervisor does to one (hang up,
transfer blind or attended, record, listen/whisper/barge), and click-to-call.

Driven by the controller's ``CallControl`` (``callcenter/controller/call_control.py``): a
server without a controller of the tenant (an API-only process) answers 503 and says so.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from callcenter.acd.live import LiveCall, agents_live, live_call, queues_live
from callcenter.api.errors import ApiError, Forbidden, NotFound
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.controller.call_control import CallControl
from callcenter.controller.call_control_errors import CallControlError
from callcenter.users.model import Role

__all__ = ["routes"]

routes = RouteTable("live-calls")
_CALL = "/api/v1/tenants/{tenant}/live-calls/{call}"
# What a destination or a number may hold before CallControl checks it against the tenant.
_TEXT = r"^[^\x00-\x1f\x7f]+$"


class LiveCallList(BaseModel):
    calls: list[LiveCall]


class TransferIn(BaseModel):
    # An extension, a number, or queue:<name> / ivr:<menu> ... of the tenant.
    destination: str = Field(min_length=1, max_length=128, pattern=_TEXT)
    # Attended: the caller waits on hold while the agent talks to the target first.
    attended: bool = False


class Consulting(BaseModel):
    call: str
    consultation_leg: str


class RecordIn(BaseModel):
    on: bool


class Recording(BaseModel):
    call: str
    recording: bool
    path: str


class MonitorIn(BaseModel):
    mode: str = Field(pattern="^(listen|whisper|barge)$")
    # The supervisor's phone (e.g. user/1900@acme.example.com); default: their agent's phone.
    contact: str | None = Field(None, max_length=255, pattern=r"^[^\s{}',\x00-\x1f]+$")


class Monitoring(BaseModel):
    call: str
    mode: str
    supervisor_leg: str


class ClickToCallIn(BaseModel):
    number: str = Field(min_length=1, max_length=32, pattern=_TEXT)
    # Whose phone rings first: the caller's own agent; a supervisor may name another agent.
    agent: str | None = Field(None, max_length=64)


class Dialing(BaseModel):
    call: str
    agent: str
    number: str
    gateways: list[str]


def _control(call: ApiCall) -> CallControl:
    assert call.tenant is not None
    control = call.ctx.call_control.get(call.tenant)
    if control is None:
        raise ApiError(
            503,
            "no-call-control",
            f"no controller of tenant {call.tenant!r} runs in this server: live calls are "
            "driven by `callcenter run` (with the center file)",
        )
    return control


def _error(exc: CallControlError) -> ApiError:
    return ApiError(exc.status, exc.error_id, str(exc))


async def _own_call(call: ApiCall) -> LiveCall:
    """The live call of the path; an agent may act only on a call they are on."""
    assert call.tenant is not None
    call_id = call.param("call")
    found = await live_call(call.ctx.store(call.tenant), call_id)
    if found is None:
        raise NotFound("unknown-call", f"no live call {call_id!r} in tenant {call.tenant!r}")
    if not call.at_least(Role.SUPERVISOR) and found.agent != call.agent_id:
        raise Forbidden(f"call {call_id!r} is not yours (agent {call.agent_id!r})")
    return found


async def _run(coro: Any) -> Any:
    try:
        return await coro
    except CallControlError as exc:
        raise _error(exc) from None


@routes.get("/api/v1/tenants/{tenant}/live-calls",
            summary="Calls in progress: waiting, ringing an agent, talking", role=Role.AGENT,
            response=LiveCallList)  # fmt: skip
async def list_live(call: ApiCall) -> LiveCallList:
    assert call.tenant is not None
    store = call.ctx.store(call.tenant)
    calls: dict[str, LiveCall] = {}
    for queue in await queues_live(store, with_calls=True):
        for waiting in queue.waiting_calls:
            calls[waiting.call] = waiting
    for agent in await agents_live(store):
        if agent.call and agent.call not in calls:
            found = await live_call(store, agent.call)
            if found is not None:
                calls[found.call] = found
    mine = [c for c in calls.values() if call.at_least(Role.SUPERVISOR) or c.agent == call.agent_id]
    return LiveCallList(calls=sorted(mine, key=lambda c: c.enqueued_ms))


@routes.post(_CALL + "/hangup", summary="Hang the call up", role=Role.AGENT)
async def hangup(call: ApiCall) -> None:
    live = await _own_call(call)
    await _run(_control(call).hangup(live.call))


@routes.post(_CALL + "/transfer", summary="Transfer the caller, blind or attended",
             role=Role.AGENT, body=TransferIn, response=Consulting)  # fmt: skip
async def transfer(call: ApiCall) -> Consulting | None:
    live = await _own_call(call)
    change = await call.payload(TransferIn)
    control = _control(call)
    if not change.attended:
        # A caller still waiting is moved (only a supervisor can: the call is nobody's yet).
        await _run(control.transfer(live.call, change.destination, by=call.who))
        return None
    leg = await _run(control.consult(live.call, change.destination))
    return Consulting(call=live.call, consultation_leg=str(leg))


@routes.post(_CALL + "/transfer/complete",
             summary="Attended transfer: join the caller and the target, drop the agent",
             role=Role.AGENT)  # fmt: skip
async def complete(call: ApiCall) -> None:
    live = await _own_call(call)
    await _run(_control(call).complete_transfer(live.call))


@routes.post(_CALL + "/transfer/cancel",
             summary="Attended transfer: hang up the target, back to the caller",
             role=Role.AGENT)  # fmt: skip
async def cancel(call: ApiCall) -> None:
    live = await _own_call(call)
    await _run(_control(call).cancel_consult(live.call))


@routes.post(_CALL + "/record", summary="Start or stop recording the call", role=Role.AGENT,
             body=RecordIn, response=Recording)  # fmt: skip
async def record(call: ApiCall) -> Recording:
    live = await _own_call(call)
    change = await call.payload(RecordIn)
    path = await _run(_control(call).record(live.call, change.on))
    return Recording(call=live.call, recording=change.on, path=str(path))


@routes.post(_CALL + "/monitor",
             summary="Ring the supervisor's phone into the call: listen, whisper or barge",
             role=Role.SUPERVISOR, body=MonitorIn, response=Monitoring)  # fmt: skip
async def monitor(call: ApiCall) -> Monitoring:
    assert call.tenant is not None
    live = await _own_call(call)
    change = await call.payload(MonitorIn)
    contact = change.contact
    if contact is None and call.agent_id:
        contact = (await call.ctx.store(call.tenant).agent(call.agent_id)).get("contact")
    if not contact:
        raise ApiError(422, "invalid-input", "contact: which phone rings for you (e.g. "
                       "user/1900@acme.example.com); you have no agent phone to default to",
                       {"field": "contact"})  # fmt: skip
    leg = await _run(_control(call).monitor(live.call, contact, change.mode))
    return Monitoring(call=live.call, mode=change.mode, supervisor_leg=str(leg))


@routes.post("/api/v1/tenants/{tenant}/click-to-call",
             summary="Ring the agent's phone, then the number through the cheapest route",
             role=Role.AGENT, body=ClickToCallIn, response=Dialing, status=201)  # fmt: skip
async def click_to_call(call: ApiCall) -> Dialing:
    request = await call.payload(ClickToCallIn)
    agent = request.agent or call.agent_id
    if agent is None:
        raise ApiError(422, "invalid-input", "agent: whose phone rings first (you are no agent "
                       "in this tenant)", {"field": "agent"})  # fmt: skip
    if agent != call.agent_id and not call.at_least(Role.SUPERVISOR):
        raise Forbidden(f"{call.who} may click-to-call from their own phone only")
    started = await _run(_control(call).click_to_call(agent, request.number))
    return Dialing(call=started.call_id, agent=started.agent, number=started.number,
                   gateways=list(started.gateways))  # fmt: skip
