"""A tenant's phone book: cards created, read, changed and removed one at a time, listed a page
at a time, and found by a caller's number for the screen-pop.

A service with no web in it: the HTTP API calls these functions (through ``asyncio.to_thread``)
and turns ``PhonebookError`` into its answers. Every statement names the tenant, so one tenant
never reads or changes another's cards; a card of another tenant is the same as no card.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    Select,
    delete,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from callcenter.db.models import Contact
from callcenter.db.types import dialect_insert, utc
from callcenter.phonebook.errors import (
    ContactNotFoundError,
    InvalidContactError,
    InvalidQueryError,
    PhoneTakenError,
)
from callcenter.phonebook.fields import ContactChanges, ContactValues, NewContact, fold_for_search
from callcenter.phonebook.numbers import TAIL_DIGITS, caller_digits, search_digits

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "MAX_SEARCH_CHARS",
    "ContactCard",
    "ContactPage",
    "card_columns",
    "create_contact",
    "delete_contact",
    "find_caller",
    "get_contact",
    "list_contacts",
    "ordered_by_name",
    "search_condition",
    "to_card",
    "update_contact",
]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
MAX_SEARCH_CHARS = 200


@dataclass(frozen=True)
class ContactCard:
    """One contact as the API and the screen-pop show it."""

    id: int
    tenant: str
    phone: str
    name: str
    company: str | None
    email: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class ContactPage:
    """A page of a listing: ``total`` counts every match, not only this page."""

    items: list[ContactCard]
    total: int
    limit: int
    offset: int


def card_columns() -> tuple[Any, ...]:
    return (
        Contact.id,
        Contact.tenant,
        Contact.phone,
        Contact.name,
        Contact.company,
        Contact.email,
        Contact.notes,
        Contact.created_at,
        Contact.updated_at,
    )


def to_card(row: Row[Any]) -> ContactCard:
    return ContactCard(
        id=row.id,
        tenant=row.tenant,
        phone=row.phone,
        name=row.name,
        company=row.company,
        email=row.email,
        notes=row.notes,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def create_contact(
    engine: Engine, *, tenant: str, contact: NewContact, at: datetime | None = None
) -> ContactCard:
    """Add a card; ``PhoneTakenError`` when the tenant has a card for this number already."""
    values = ContactValues.check(
        phone=contact.phone,
        name=contact.name,
        company=contact.company,
        email=contact.email,
        notes=contact.notes,
    )
    now = utc(at)
    with engine.begin() as conn:
        # ON CONFLICT DO NOTHING: a concurrent create of the same number is answered like a
        # sequential one, not with an IntegrityError.
        statement = (
            dialect_insert(conn.dialect, Contact)
            .values(tenant=tenant, created_at=now, updated_at=now, **values.columns())
            .on_conflict_do_nothing(index_elements=["tenant", "phone_digits"])
            .returning(*card_columns())
        )
        row = conn.execute(statement).first()
        if row is None:
            raise _phone_taken(conn, tenant, values.phone.digits, values.phone.shown)
    return to_card(row)


def get_contact(engine: Engine, *, tenant: str, contact_id: int) -> ContactCard:
    with engine.connect() as conn:
        return to_card(_row(conn, tenant, contact_id))


def update_contact(
    engine: Engine,
    *,
    tenant: str,
    contact_id: int,
    changes: ContactChanges,
    at: datetime | None = None,
) -> ContactCard:
    """Change the fields given in ``changes`` (see ``ContactChanges``); nothing given, nothing
    changes (not even ``updated_at``)."""
    given = changes.model_fields_set
    for field in ("phone", "name"):
        if field in given and getattr(changes, field) is None:
            raise InvalidContactError(f"the {field} cannot be removed, only changed", field=field)
    with engine.begin() as conn:
        current = _row(conn, tenant, contact_id, for_update=True)
        if not given:
            return to_card(current)

        def pick(field: str) -> Any:
            return getattr(changes, field) if field in given else getattr(current, field)

        values = ContactValues.check(
            phone=pick("phone"),
            name=pick("name"),
            company=pick("company"),
            email=pick("email"),
            notes=pick("notes"),
        )
        owner = conn.execute(
            select(Contact.id).where(
                Contact.tenant == tenant,
                Contact.phone_digits == values.phone.digits,
                Contact.id != contact_id,
            )
        ).scalar()
        if owner is not None:
            raise _taken(values.phone.shown, owner)
        try:
            row = conn.execute(
                update(Contact)
                .where(Contact.tenant == tenant, Contact.id == contact_id)
                .values(updated_at=utc(at), **values.columns())
                .returning(*card_columns())
            ).one()
        except IntegrityError as exc:  # the number was taken between the check and now
            raise PhoneTakenError(
                f"another contact was just given {values.phone.shown}: reload and try again",
                phone=values.phone.shown,
            ) from exc
    return to_card(row)


def delete_contact(engine: Engine, *, tenant: str, contact_id: int) -> None:
    with engine.begin() as conn:
        removed = conn.execute(
            delete(Contact).where(Contact.tenant == tenant, Contact.id == contact_id)
        ).rowcount
    if not removed:
        raise _not_found(contact_id)


def list_contacts(
    engine: Engine,
    *,
    tenant: str,
    search: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
    offset: int = 0,
) -> ContactPage:
    """The tenant's cards ordered by name, a page at a time. ``search`` finds a substring of
    the name, company or e-mail (any case), or, when it looks like a number ("+7 (495) 123"),
    those digits anywhere in the phone number."""
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidQueryError(
            f"limit must be 1 to {MAX_PAGE_SIZE}, not {limit}", field="limit", max=MAX_PAGE_SIZE
        )
    if offset < 0:
        raise InvalidQueryError(f"offset must be 0 or more, not {offset}", field="offset")
    where = [Contact.tenant == tenant, *search_condition(search)]
    with engine.connect() as conn:
        total = conn.execute(select(func.count()).select_from(Contact).where(*where)).scalar_one()
        rows = conn.execute(
            ordered_by_name(select(*card_columns()).where(*where)).limit(limit).offset(offset)
        ).all()
    return ContactPage(items=[to_card(r) for r in rows], total=total, limit=limit, offset=offset)


def find_caller(engine: Engine, *, tenant: str, number: str | None) -> ContactCard | None:
    """The card of a caller's number for the screen-pop, or None.

    The number matches with spaces, dashes, brackets, dots and a leading + ignored; when no
    card has exactly these digits, a card whose last 10 digits are the caller's last 10 is
    taken if it is the only one (84951234567 finds +74951234567). Both are index lookups.
    """
    digits = caller_digits(number)
    if digits is None:
        return None
    with engine.connect() as conn:
        row = conn.execute(
            select(*card_columns()).where(Contact.tenant == tenant, Contact.phone_digits == digits)
        ).first()
        if row is None and len(digits) >= TAIL_DIGITS:
            candidates = conn.execute(
                select(*card_columns())
                .where(Contact.tenant == tenant, Contact.phone_tail == digits[-TAIL_DIGITS:])
                .limit(2)
            ).all()
            row = candidates[0] if len(candidates) == 1 else None
    return None if row is None else to_card(row)


def search_condition(search: str | None) -> list[ColumnElement[bool]]:
    """The WHERE terms of a search (none for an empty one); shared with the export."""
    if search is None or not search.strip():
        return []
    text = search.strip()
    if len(text) > MAX_SEARCH_CHARS:
        raise InvalidQueryError(
            f"the search is {len(text)} characters long: at most {MAX_SEARCH_CHARS}",
            field="search",
        )
    if any(ord(ch) < 32 for ch in text):
        raise InvalidQueryError("the search has a control character", field="search")
    terms: list[ColumnElement[bool]] = [
        Contact.search_text.contains(fold_for_search(text), autoescape=True)
    ]
    digits = search_digits(text)
    if digits:
        terms.append(Contact.phone_digits.contains(digits, autoescape=True))
    return [or_(*terms)]


def ordered_by_name(statement: Select[Any]) -> Select[Any]:
    return statement.order_by(Contact.name, Contact.id)


def _row(conn: Connection, tenant: str, contact_id: int, *, for_update: bool = False) -> Row[Any]:
    statement = select(*card_columns()).where(Contact.tenant == tenant, Contact.id == contact_id)
    if for_update:
        statement = statement.with_for_update()
    row = conn.execute(statement).first()
    if row is None:
        raise _not_found(contact_id)
    return row


def _not_found(contact_id: int) -> ContactNotFoundError:
    return ContactNotFoundError(
        f"there is no contact {contact_id} in this phone book", contact_id=contact_id
    )


def _taken(phone: str, owner: int) -> PhoneTakenError:
    return PhoneTakenError(
        f"{phone} is already in the phone book (contact {owner}): change that contact instead",
        phone=phone,
        contact_id=owner,
    )


def _phone_taken(conn: Connection, tenant: str, digits: str, shown: str) -> PhoneTakenError:
    owner = conn.execute(
        select(Contact.id).where(Contact.tenant == tenant, Contact.phone_digits == digits)
    ).scalar()
    if owner is None:  # removed again in the meantime: rare enough to ask for a retry
        return PhoneTakenError(f"{shown} was being added at the same time: try again", phone=shown)
    return _taken(shown, owner)
