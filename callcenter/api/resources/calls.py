"""Call history: search a tenant's calls, one call's whole record, its comments and its
disposition. An agent sees and annotates the calls they handled only; supervisors and admins
every call of the tenant (the rule is ``callcenter.calls.history``'s)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from callcenter.api.errors import ApiError, Forbidden, NotFound, Unprocessable
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.calls import history, notes
from callcenter.calls.errors import NotesError, UnknownCallError
from callcenter.calls.history import CallDetail, CallPage, CallSearch, CommentOut, DispositionOut
from callcenter.users.model import Role

__all__ = [
    "CommentIn",
    "CommentList",
    "DispositionIn",
    "handled_by",
    "notes_error",
    "routes",
]

routes = RouteTable("calls")
CALLS = "/api/v1/tenants/{tenant}/calls"
CALL = CALLS + "/{call}"


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=notes.MAX_COMMENT_CHARS)
    # Seconds into the call's recording the comment is about (none: the call as a whole).
    offset_s: float | None = Field(None, ge=0)


class CommentList(BaseModel):
    comments: list[CommentOut]


class DispositionIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")


def handled_by(call: ApiCall) -> str | None:
    """Whose calls the caller may see: None for a supervisor or admin (all of them), else their
    own agent's; an agent without an ACD agent in the tenant has no calls to see."""
    if call.at_least(Role.SUPERVISOR):
        return None
    if not call.agent_id:
        raise Forbidden(
            f"{call.who} is an agent in {call.tenant!r} without an ACD agent id: there are no "
            "calls of theirs to see (an admin sets it with the user's grant)"
        )
    return call.agent_id


def notes_error(exc: NotesError) -> ApiError:
    """The calls services' errors as API errors: no such call 404, not theirs 403, the rest
    (bad input, a code the queue does not list) 422."""
    if isinstance(exc, UnknownCallError):
        return NotFound(exc.error_id, exc.message, exc.details)
    if isinstance(exc, history.NotYourCallError):
        return ApiError(403, exc.error_id, exc.message, exc.details)
    return Unprocessable(exc.error_id, exc.message, exc.details)


def _ids(call: ApiCall) -> tuple[str, str]:
    assert call.tenant is not None
    return call.tenant, call.param("call")


async def _accessible(call: ApiCall) -> tuple[str, str]:
    """The tenant and call of the path, once the caller may see the call (an agent: a call they
    handled)."""
    tenant, call_uuid = _ids(call)
    try:
        await call.ctx.db(
            history.check_access,
            call.ctx.engine,
            tenant=tenant,
            call_uuid=call_uuid,
            handled_by=handled_by(call),
        )
    except NotesError as exc:
        raise notes_error(exc) from None
    return tenant, call_uuid


@routes.get(
    CALLS,
    summary="Search the tenant's calls (newest first, paged)",
    role=Role.AGENT,
    query=CallSearch,
    response=CallPage,
)
async def search(call: ApiCall) -> CallPage:
    assert call.tenant is not None
    found = call.query(CallSearch)
    return await call.ctx.db(
        history.search_calls,
        call.ctx.engine,
        tenant=call.tenant,
        search=found,
        handled_by=handled_by(call),
    )


@routes.get(CALL, summary="One call's whole record", role=Role.AGENT, response=CallDetail)
async def detail(call: ApiCall) -> CallDetail:
    tenant, call_uuid = _ids(call)
    try:
        return await call.ctx.db(
            history.call_detail,
            call.ctx.engine,
            tenant=tenant,
            call_uuid=call_uuid,
            handled_by=handled_by(call),
        )
    except NotesError as exc:
        raise notes_error(exc) from None


@routes.get(
    CALL + "/comments",
    summary="A call's comments, oldest first",
    role=Role.AGENT,
    response=CommentList,
)
async def list_comments(call: ApiCall) -> CommentList:
    tenant, call_uuid = await _accessible(call)
    ctx = call.ctx
    try:
        found = await ctx.db(notes.comments, ctx.engine, tenant=tenant, call_uuid=call_uuid)
    except NotesError as exc:
        raise notes_error(exc) from None
    return CommentList(comments=[CommentOut.model_validate(c) for c in found])


@routes.post(
    CALL + "/comments",
    summary="Comment on a call (the author is who signed in)",
    role=Role.AGENT,
    body=CommentIn,
    response=CommentOut,
    status=201,
)
async def add_comment(call: ApiCall) -> CommentOut:
    body = await call.payload(CommentIn)
    tenant, call_uuid = await _accessible(call)
    ctx = call.ctx
    try:
        view = await ctx.db(
            notes.add_comment,
            ctx.engine,
            tenant=tenant,
            call_uuid=call_uuid,
            author=call.who,
            text=body.text,
            offset_s=body.offset_s,
        )
    except NotesError as exc:
        raise notes_error(exc) from None
    return CommentOut.model_validate(view)


@routes.put(
    CALL + "/disposition",
    summary="Set a call's disposition from its queue's codes",
    role=Role.AGENT,
    body=DispositionIn,
    response=DispositionOut,
)
async def set_disposition(call: ApiCall) -> DispositionOut:
    body = await call.payload(DispositionIn)
    tenant, call_uuid = await _accessible(call)
    ctx = call.ctx
    try:
        view = await ctx.db(
            notes.set_disposition,
            ctx.engine,
            ctx.center,
            tenant=tenant,
            call_uuid=call_uuid,
            code=body.code,
            set_by=call.who,
        )
    except NotesError as exc:
        raise notes_error(exc) from None
    # The CRM webhooks and the live pages learn of it from the tenant's event Stream.
    await ctx.store(tenant).append_event(
        "disposition", call=call_uuid, code=view.code, set_by=view.set_by, tenant=tenant
    )
    return DispositionOut.model_validate(view)
