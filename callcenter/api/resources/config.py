"""The admin's view of the center: a tenant's configuration (secrets hidden), and the
FreeSWITCH configuration rendered from it: render, diff against each node, push.

The center file is read again on each request, so what an operator just edited is what they
see and push. Dialplans cover every tenant of the center (one public context holds all DIDs),
so rendering and pushing them is for admins of every tenant.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from callcenter.api.errors import ApiError, NotFound
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.center import CenterError, load_center
from callcenter.center.tenant import Center
from callcenter.dialplan.push import PushResult, diff_node, push_node
from callcenter.dialplan.render import RenderError, render_center
from callcenter.users.model import Role

__all__ = ["routes"]

routes = RouteTable("config")

# Keys whose values an admin page never shows (gateway passwords, voicemail PINs, webhook
# secrets, a CRM lookup's headers, which carry its credentials).
SECRET_KEYS = frozenset({"password", "pin", "secret", "token", "api_key", "vm_password", "headers"})


class TenantConfig(BaseModel):
    tenant: str
    source: str
    config: dict[str, Any]


class RenderedFiles(BaseModel):
    files: dict[str, str]


class NodeDiff(BaseModel):
    node: str
    diff: str
    changed: bool


class DiffList(BaseModel):
    nodes: list[NodeDiff]


class PushRequest(BaseModel):
    # The nodes to push to; empty: every node the controller knows a folder of.
    nodes: list[str] = []


class NodePush(BaseModel):
    node: str
    ok: bool
    written: list[str]
    removed: list[str]
    message: str


class PushList(BaseModel):
    nodes: list[NodePush]


def _hidden(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: ("***" if key in SECRET_KEYS and item else _hidden(item))
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hidden(item) for item in value]
    return value


def _load(call: ApiCall) -> Center:
    ctx = call.ctx
    if ctx.center_path is None:
        if ctx.center is None:
            raise ApiError(
                409,
                "no-center-file",
                "this server was started without a center file (callcenter run --center): "
                "there is no configuration to show",
            )
        return ctx.center
    try:
        return load_center(ctx.center_path)
    except CenterError as exc:
        problems = [str(p) for p in exc.problems]
        raise ApiError(422, "invalid-center", f"{ctx.center_path}: {len(problems)} problem(s)",
                       {"problems": problems}) from None  # fmt: skip


async def _files(call: ApiCall) -> dict[str, str]:
    center = await call.ctx.db(_load, call)
    try:
        return await call.ctx.db(render_center, center, call.ctx.templates)
    except (CenterError, RenderError) as exc:
        problems = [str(p) for p in exc.problems]
        raise ApiError(422, "render-failed", f"the dialplans cannot be rendered: "
                       f"{len(problems)} problem(s), nothing written",
                       {"problems": problems}) from None  # fmt: skip


@routes.get("/api/v1/tenants/{tenant}/config",
            summary="The tenant's configuration: queues, agents, IVR, DIDs, gateways (secrets "
            "hidden)", role=Role.ADMIN, response=TenantConfig)  # fmt: skip
async def tenant_config(call: ApiCall) -> TenantConfig:
    assert call.tenant is not None
    center = await call.ctx.db(_load, call)
    found = next((t for t in center.tenants if t.name == call.tenant), None)
    if found is None:
        raise NotFound("unknown-tenant", f"tenant {call.tenant!r} is not in the center file")
    source = str(call.ctx.center_path) if call.ctx.center_path else "(loaded at start)"
    return TenantConfig(
        tenant=call.tenant, source=source, config=_hidden(found.model_dump(mode="json"))
    )


@routes.get("/api/v1/dialplan/files", summary="Render every FreeSWITCH file from the center",
            role=Role.ADMIN, response=RenderedFiles)  # fmt: skip
async def rendered(call: ApiCall) -> RenderedFiles:
    return RenderedFiles(files=dict(sorted((await _files(call)).items())))


@routes.get("/api/v1/dialplan/diff", summary="What a push would change on each node",
            role=Role.ADMIN, response=DiffList)  # fmt: skip
async def diff(call: ApiCall) -> DiffList:
    files = await _files(call)
    out = []
    for node, folder in sorted(call.ctx.conf_dirs.items()):
        try:
            text = await call.ctx.db(diff_node, folder, files)
        except (ValueError, OSError) as exc:
            raise ApiError(500, "diff-failed", f"{node}: {exc}") from None
        out.append(NodeDiff(node=node, diff=text, changed=bool(text)))
    return DiffList(nodes=out)


@routes.post("/api/v1/dialplan/push",
             summary="Write the rendered files to each node and reloadxml (rolled back on error)",
             role=Role.ADMIN, body=PushRequest, response=PushList)  # fmt: skip
async def push(call: ApiCall) -> PushList:
    wanted = (await call.payload(PushRequest)).nodes or sorted(call.ctx.conf_dirs)
    unknown = [n for n in wanted if n not in call.ctx.conf_dirs]
    if unknown or not wanted:
        known = ", ".join(sorted(call.ctx.conf_dirs)) or "none"
        raise ApiError(422, "unknown-node", f"no configuration folder for node(s) "
                       f"{', '.join(unknown) or '(none given)'} (known: {known}); start the "
                       "controller with --esl esl://...?conf=/etc/freeswitch#name",
                       {"nodes": unknown})  # fmt: skip
    files = await _files(call)
    results: list[PushResult] = []
    for node in wanted:
        client = call.ctx.switches.get(node)
        if client is None:
            results.append(PushResult(node, False, message="no connection to this node"))
            continue
        try:
            results.append(await push_node(node, call.ctx.conf_dirs[node], client.api, files))
        except (ValueError, OSError) as exc:
            results.append(PushResult(node, False, message=str(exc)))
    return PushList(
        nodes=[
            NodePush(
                node=r.node,
                ok=r.ok,
                written=list(r.written),
                removed=list(r.removed),
                message=r.message,
            )
            for r in results
        ]
    )
