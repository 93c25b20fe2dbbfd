"""Agents: their live state, and state changes (ready, break with a reason, log in and out)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from callcenter.acd.errors import UnknownAgentError, WrongAgentStateError
from callcenter.acd.live import AgentLive, agent_live, agents_live
from callcenter.api.errors import ApiError, Forbidden, NotFound
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.users.model import Role

__all__ = ["AgentList", "StateChange", "routes"]

routes = RouteTable("agents")
_AGENT = "/api/v1/tenants/{tenant}/agents/{agent}"


class AgentList(BaseModel):
    agents: list[AgentLive]


class Action(StrEnum):
    LOGIN = "login"
    READY = "ready"
    BREAK = "break"
    LOGOUT = "logout"


class StateChange(BaseModel):
    action: Action
    # With break: why (shown on the wallboard, counted in the reports).
    reason: str = Field("break", min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")
    # With login: where to ring the agent, when not their configured phone.
    contact: str | None = Field(None, max_length=255, pattern=r"^[^\s{}',\x00-\x1f]+$")


def own_or_supervisor(call: ApiCall, agent: str) -> None:
    """An agent acts on themselves only; a supervisor or admin on any agent of the tenant."""
    if call.at_least(Role.SUPERVISOR) or call.agent_id == agent:
        return
    raise Forbidden(f"{call.who} may change their own state only (agent {call.agent_id!r})")


@routes.get("/api/v1/tenants/{tenant}/agents", summary="Agents and their live state",
            role=Role.AGENT, response=AgentList)  # fmt: skip
async def list_agents(call: ApiCall) -> AgentList:
    assert call.tenant is not None
    return AgentList(agents=await agents_live(call.ctx.store(call.tenant)))


@routes.get(_AGENT, summary="One agent's live state", role=Role.AGENT, response=AgentLive)
async def get_agent(call: ApiCall) -> AgentLive:
    assert call.tenant is not None
    try:
        return await agent_live(call.ctx.store(call.tenant), call.param("agent"))
    except UnknownAgentError as exc:
        raise NotFound("unknown-agent", str(exc), {"agent": exc.agent}) from None


@routes.put(_AGENT + "/state", summary="Change an agent's state", role=Role.AGENT,
            body=StateChange, response=AgentLive)  # fmt: skip
async def change_state(call: ApiCall) -> AgentLive:
    assert call.tenant is not None
    agent = call.param("agent")
    own_or_supervisor(call, agent)
    change = await call.payload(StateChange)
    store = call.ctx.store(call.tenant)
    try:
        if change.action is Action.LOGIN:
            await store.login(agent, change.contact)
        elif change.action is Action.READY:
            await store.ready(agent)
        elif change.action is Action.BREAK:
            await store.take_break(agent, change.reason)
        else:
            await store.logout(agent)
        return await agent_live(store, agent)
    except UnknownAgentError as exc:
        raise NotFound("unknown-agent", str(exc), {"agent": exc.agent}) from None
    except WrongAgentStateError as exc:
        raise ApiError(409, "wrong-agent-state", str(exc), {"agent": agent}) from None
