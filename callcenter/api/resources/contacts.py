"""The phone book over HTTP: search, cards, import from CSV/XLSX (all or nothing, with a
per-row report), export; and the screen-pop: who is calling, from the phone book (and the
tenant's CRM, when it has a lookup hook)."""

from __future__ import annotations

from datetime import datetime

from aiohttp import BodyPartReader, web
from pydantic import BaseModel, Field

from callcenter.acd.live import live_call
from callcenter.api.errors import ApiError, Forbidden, NotFound
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.crm import lookup_card, screen_pop_url
from callcenter.phonebook import (
    MAX_IMPORT_BYTES,
    ContactCard,
    ContactChanges,
    ImportMode,
    NewContact,
    PhonebookError,
    create_contact,
    delete_contact,
    export_csv,
    find_caller,
    get_contact,
    import_contacts,
    list_contacts,
    update_contact,
)
from callcenter.phonebook.errors import (
    ContactNotFoundError,
    ImportRowsError,
    ImportTooLargeError,
    InvalidContactError,
    PhoneTakenError,
)
from callcenter.users.model import Role

__all__ = ["ContactOut", "routes"]

routes = RouteTable("contacts")
_CONTACTS = "/api/v1/tenants/{tenant}/contacts"


class ContactOut(BaseModel):
    id: int
    phone: str
    name: str
    company: str | None
    email: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


class ContactList(BaseModel):
    items: list[ContactOut]
    total: int
    limit: int
    offset: int


class ContactQuery(BaseModel):
    q: str | None = Field(None, description="name, company or e-mail words, or phone digits")
    limit: int = Field(50, ge=1, le=500)
    offset: int = Field(0, ge=0)


class ImportQuery(BaseModel):
    mode: ImportMode = ImportMode.CREATE


class ImportOut(BaseModel):
    created: int
    updated: int
    file_format: str
    encoding: str | None
    ignored_columns: list[str]


class Card(BaseModel):
    name: str
    company: str | None = None
    email: str | None = None
    notes: str | None = None
    # phonebook, or crm (the tenant's lookup hook)
    source: str
    contact_id: int | None = None


class ScreenPopQuery(BaseModel):
    call: str | None = Field(None, max_length=64, description="the live call (ACD call id)")
    number: str | None = Field(None, max_length=32, description="or a number (supervisors)")


class ScreenPop(BaseModel):
    call: str | None
    caller_number: str
    caller_name: str
    queue: str
    did: str = ""  # the number the caller dialed ("" when not a live call or not known)
    campaign: str = ""  # its label in the center file (which advert brought the call)
    card: Card | None
    crm_url: str | None


def _out(card: ContactCard) -> ContactOut:
    return ContactOut(**{name: getattr(card, name) for name in ContactOut.model_fields})


_STATUS: dict[type[PhonebookError], int] = {
    InvalidContactError: 422,
    ContactNotFoundError: 404,
    PhoneTakenError: 409,
    ImportRowsError: 422,
    ImportTooLargeError: 413,
}


def _error(exc: PhonebookError) -> ApiError:
    status = next((code for kind, code in _STATUS.items() if isinstance(exc, kind)), 400)
    return ApiError(status, exc.error_id, exc.message, dict(exc.details))


def _contact_id(call: ApiCall) -> int:
    raw = call.param("contact")
    if not raw.isdigit():
        raise NotFound("contact-not-found", f"no contact {raw!r}")
    return int(raw)


@routes.get(_CONTACTS, summary="Search the phone book", role=Role.AGENT, query=ContactQuery,
            response=ContactList)  # fmt: skip
async def search(call: ApiCall) -> ContactList:
    assert call.tenant is not None
    query = call.query(ContactQuery)
    try:
        page = await call.ctx.db(
            list_contacts,
            call.ctx.engine,
            tenant=call.tenant,
            search=query.q,
            limit=query.limit,
            offset=query.offset,
        )
    except PhonebookError as exc:
        raise _error(exc) from None
    return ContactList(items=[_out(c) for c in page.items], total=page.total, limit=page.limit,
                       offset=page.offset)  # fmt: skip


@routes.post(_CONTACTS, summary="Add a card to the phone book", role=Role.AGENT,
             body=NewContact, response=ContactOut, status=201)  # fmt: skip
async def add(call: ApiCall) -> ContactOut:
    assert call.tenant is not None
    new = await call.payload(NewContact)
    try:
        card = await call.ctx.db(create_contact, call.ctx.engine, tenant=call.tenant, contact=new)
    except PhonebookError as exc:
        raise _error(exc) from None
    return _out(card)


# Before the /{contact} routes: aiohttp matches in the order routes are added.
@routes.get(_CONTACTS + "/export", summary="The phone book as CSV", role=Role.SUPERVISOR,
            query=ContactQuery)  # fmt: skip
async def export(call: ApiCall) -> web.Response:
    assert call.tenant is not None
    query = call.query(ContactQuery)
    data = await call.ctx.db(export_csv, call.ctx.engine, tenant=call.tenant, search=query.q)
    return web.Response(
        body=data,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="{call.tenant}-contacts.csv"'},
    )


@routes.get(_CONTACTS + "/{contact}", summary="One card", role=Role.AGENT, response=ContactOut)
async def one(call: ApiCall) -> ContactOut:
    assert call.tenant is not None
    try:
        card = await call.ctx.db(get_contact, call.ctx.engine, tenant=call.tenant,
                                 contact_id=_contact_id(call))  # fmt: skip
    except PhonebookError as exc:
        raise _error(exc) from None
    return _out(card)


@routes.patch(_CONTACTS + "/{contact}", summary="Change a card (only the fields sent)",
              role=Role.AGENT, body=ContactChanges, response=ContactOut)  # fmt: skip
async def change(call: ApiCall) -> ContactOut:
    assert call.tenant is not None
    changes = await call.payload(ContactChanges)
    try:
        card = await call.ctx.db(update_contact, call.ctx.engine, tenant=call.tenant,
                                 contact_id=_contact_id(call), changes=changes)  # fmt: skip
    except PhonebookError as exc:
        raise _error(exc) from None
    return _out(card)


@routes.delete(_CONTACTS + "/{contact}", summary="Remove a card", role=Role.SUPERVISOR)
async def remove(call: ApiCall) -> None:
    assert call.tenant is not None
    try:
        await call.ctx.db(delete_contact, call.ctx.engine, tenant=call.tenant,
                          contact_id=_contact_id(call))  # fmt: skip
    except PhonebookError as exc:
        raise _error(exc) from None


async def _upload(request: web.Request) -> tuple[bytes, str | None]:
    """The file of a multipart form (field ``file``), or the raw body with its file name in
    ``X-Filename``; refused past the import limit without reading it all."""
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and part.name == "file":
                data = bytearray()
                while chunk := await part.read_chunk(64 * 1024):
                    data += chunk
                    if len(data) > MAX_IMPORT_BYTES:
                        raise _too_large()
                return bytes(data), part.filename
        raise ApiError(400, "import-file-missing", "the form has no field named 'file'")
    if request.content_length and request.content_length > MAX_IMPORT_BYTES:
        raise _too_large()
    return await request.read(), request.headers.get("X-Filename")


def _too_large() -> ApiError:
    return ApiError(413, "import-too-large",
                    f"the file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MiB: split it",
                    {"limit": MAX_IMPORT_BYTES})  # fmt: skip


@routes.post(_CONTACTS + "/import",
             summary="Import a CSV or XLSX file: every row or none, with a per-row report",
             role=Role.SUPERVISOR, query=ImportQuery, response=ImportOut)  # fmt: skip
async def import_file(call: ApiCall) -> ImportOut:
    assert call.tenant is not None
    mode = call.query(ImportQuery).mode
    data, filename = await _upload(call.request)
    call.audit_details = {"filename": filename, "bytes": len(data), "mode": mode.value}
    try:
        result = await call.ctx.db(import_contacts, call.ctx.engine, tenant=call.tenant,
                                   data=data, filename=filename, mode=mode)  # fmt: skip
    except PhonebookError as exc:
        raise _error(exc) from None
    call.audit_details.update(created=result.created, updated=result.updated)
    return ImportOut(created=result.created, updated=result.updated,
                     file_format=str(result.file_format), encoding=result.encoding,
                     ignored_columns=list(result.ignored_columns))  # fmt: skip


async def _crm(
    call: ApiCall, number: str, *, need_card: bool, call_id: str, queue: str, did: str
) -> tuple[Card | None, str | None]:
    """The tenant's CRM card (asked only when the phone book has none) and screen-pop link,
    when its configuration has hooks for them. A slow or broken CRM gives no card, never an
    error: the agent still sees the number."""
    tenant = call.ctx.tenant_config(call.tenant or "")
    crm = tenant.crm if tenant is not None else None
    if crm is None:
        return None, None
    url = screen_pop_url(crm, caller=number, call=call_id, did=did, queue=queue,
                         agent=call.agent_id or "")  # fmt: skip
    if not need_card:
        return None, url
    found = await lookup_card(crm, number)
    if found is None or not found.name:
        return None, url
    card = Card(name=found.name, company=found.company, email=found.email, notes=found.notes,
                source="crm")  # fmt: skip
    return card, found.url or url


@routes.get("/api/v1/tenants/{tenant}/screen-pop",
            summary="Who is calling: the caller's card from the phone book or the CRM",
            role=Role.AGENT, query=ScreenPopQuery, response=ScreenPop)  # fmt: skip
async def screen_pop(call: ApiCall) -> ScreenPop:
    assert call.tenant is not None
    query = call.query(ScreenPopQuery)
    caller_name = queue = did = campaign = ""
    if query.call:
        live = await live_call(call.ctx.store(call.tenant), query.call)
        if live is None:
            raise NotFound("unknown-call", f"no live call {query.call!r} in tenant {call.tenant!r}")
        if not call.at_least(Role.SUPERVISOR):
            offered = await call.ctx.redis.hget(call.ctx.store(call.tenant).keys.call(query.call),
                                                "agents")  # fmt: skip
            mine = {live.agent, *(offered or b"").decode().split(",")} - {""}
            if call.agent_id not in mine:
                raise Forbidden(f"call {query.call!r} is not offered to you")
        number, caller_name, queue = live.caller_number, live.caller_name, live.queue
        did, campaign = live.did, live.campaign
    elif query.number and call.at_least(Role.SUPERVISOR):
        number = query.number
    else:
        raise ApiError(422, "invalid-input", "give call=<the live call> (or, for a supervisor, "
                       "number=<a phone number>)")  # fmt: skip
    found = await call.ctx.db(find_caller, call.ctx.engine, tenant=call.tenant, number=number)
    card = None
    if found is not None:
        card = Card(name=found.name, company=found.company, email=found.email,
                    notes=found.notes, source="phonebook", contact_id=found.id)  # fmt: skip
    crm_card, crm_url = await _crm(call, number, need_card=card is None, call_id=query.call or "",
                                   queue=queue, did=did)  # fmt: skip
    return ScreenPop(call=query.call, caller_number=number, caller_name=caller_name, queue=queue,
                     did=did, campaign=campaign, card=card or crm_card,
                     crm_url=crm_url)  # fmt: skip
