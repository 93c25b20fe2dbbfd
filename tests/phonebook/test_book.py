"""The phone book's cards one at a time, listings and the screen-pop lookup, on PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine

from callcenter.phonebook import (
    MAX_NAME_CHARS,
    MAX_NOTES_CHARS,
    ContactChanges,
    ContactNotFoundError,
    InvalidContactError,
    InvalidQueryError,
    NewContact,
    PhonebookError,
    PhoneTakenError,
    create_contact,
    delete_contact,
    find_caller,
    get_contact,
    list_contacts,
    update_contact,
)
from tests.phonebook.files import count

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def add(engine: Engine, phone: str, name: str, tenant: str = "acme", **fields: Any) -> int:
    card = create_contact(
        engine, tenant=tenant, contact=NewContact(phone=phone, name=name, **fields)
    )
    return card.id


# Create, get, update, delete ----------------------------------------------------------------


def test_a_contact_is_created_and_read_back(db: Engine) -> None:
    card = create_contact(
        db,
        tenant="acme",
        contact=NewContact(
            phone=" +7 (495) 123-45-67 ",
            name="  Ivan Petrov ",
            company="Roga i Kopyta",
            email="ivan@example.com",
            notes="VIP\r\ncalls after 18:00",
        ),
        at=T0,
    )
    assert (card.tenant, card.phone, card.name, card.company, card.email) == (
        "acme",
        "+74951234567",
        "Ivan Petrov",
        "Roga i Kopyta",
        "ivan@example.com",
    )
    assert card.notes == "VIP\ncalls after 18:00"  # the notes keep their lines
    assert card.created_at == card.updated_at == T0
    assert get_contact(db, tenant="acme", contact_id=card.id) == card


def test_empty_optional_fields_are_kept_as_none(db: Engine) -> None:
    card = create_contact(
        db,
        tenant="acme",
        contact=NewContact(phone="101", name="Reception", company="  ", email="", notes=" "),
    )
    assert (card.company, card.email, card.notes) == (None, None, None)
    assert card.created_at.tzinfo is not None


@pytest.mark.parametrize("again", ["+74951234567", "74951234567", "7 495 123 45 67"])
def test_a_number_is_in_the_book_once_with_or_without_plus(db: Engine, again: str) -> None:
    first = add(db, "+7 495 123-45-67", "Ivan")
    with pytest.raises(PhoneTakenError, match=r"already in the phone book \(contact") as info:
        add(db, again, "Someone else")
    assert info.value.error_id == "phone-taken"
    assert info.value.details["contact_id"] == first
    assert count(db) == 1


def test_a_partial_update_changes_only_what_is_given(db: Engine) -> None:
    created = create_contact(
        db,
        tenant="acme",
        contact=NewContact(phone="74951234567", name="Ivan", company="Acme", email="i@a.ru"),
        at=T0,
    )
    later = T0 + timedelta(hours=1)
    card = update_contact(
        db,
        tenant="acme",
        contact_id=created.id,
        changes=ContactChanges(name="Ivan Petrov", email=None),
        at=later,
    )
    assert (card.phone, card.name, card.company, card.email) == (
        "74951234567",
        "Ivan Petrov",
        "Acme",
        None,
    )
    assert (card.created_at, card.updated_at) == (T0, later)
    assert get_contact(db, tenant="acme", contact_id=created.id) == card


def test_an_update_with_nothing_given_changes_nothing(db: Engine) -> None:
    created = create_contact(db, tenant="acme", contact=NewContact(phone="101", name="Desk"), at=T0)
    card = update_contact(db, tenant="acme", contact_id=created.id, changes=ContactChanges())
    assert card == created


def test_a_number_changed_is_found_by_its_new_digits(db: Engine) -> None:
    contact = add(db, "74951234567", "Ivan")
    update_contact(
        db, tenant="acme", contact_id=contact, changes=ContactChanges(phone="+7 812 000-00-01")
    )
    assert find_caller(db, tenant="acme", number="78120000001") is not None
    assert find_caller(db, tenant="acme", number="74951234567") is None


def test_an_update_to_anothers_number_is_refused(db: Engine) -> None:
    ivan = add(db, "74951234567", "Ivan")
    anna = add(db, "74951112233", "Anna")
    with pytest.raises(PhoneTakenError) as info:
        update_contact(
            db, tenant="acme", contact_id=anna, changes=ContactChanges(phone="+74951234567")
        )
    assert info.value.details["contact_id"] == ivan
    # Its own number, written another way, is no conflict.
    card = update_contact(
        db, tenant="acme", contact_id=ivan, changes=ContactChanges(phone="+7 495 123 45 67")
    )
    assert card.phone == "+74951234567"


@pytest.mark.parametrize("field", ["phone", "name"])
def test_phone_and_name_cannot_be_removed(db: Engine, field: str) -> None:
    contact = add(db, "74951234567", "Ivan")
    with pytest.raises(InvalidContactError, match="cannot be removed") as info:
        update_contact(
            db, tenant="acme", contact_id=contact, changes=ContactChanges(**{field: None})
        )
    assert info.value.details["field"] == field


def test_a_bad_update_changes_nothing(db: Engine) -> None:
    contact = add(db, "74951234567", "Ivan")
    before = get_contact(db, tenant="acme", contact_id=contact)
    with pytest.raises(InvalidContactError):
        update_contact(
            db,
            tenant="acme",
            contact_id=contact,
            changes=ContactChanges(name="Ivan\nPetrov", company="X"),
        )
    assert get_contact(db, tenant="acme", contact_id=contact) == before


def test_a_contact_is_deleted(db: Engine) -> None:
    contact = add(db, "74951234567", "Ivan")
    delete_contact(db, tenant="acme", contact_id=contact)
    assert count(db) == 0
    with pytest.raises(ContactNotFoundError, match=f"no contact {contact}") as info:
        delete_contact(db, tenant="acme", contact_id=contact)
    assert info.value.error_id == "contact-not-found"
    assert find_caller(db, tenant="acme", number="74951234567") is None


# Validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"phone": "12"}, "phone", "has 2 digits"),
        ({"phone": "call me"}, "phone", "not a phone number"),
        ({"name": ""}, "name", "the name is empty"),
        ({"name": " \t "}, "name", "the name is empty"),
        ({"name": "x" * (MAX_NAME_CHARS + 1)}, "name", f"at most {MAX_NAME_CHARS}"),
        ({"name": "Ivan\r\nPetrov"}, "name", "line break: the name must be one line"),
        ({"name": "Ivan\nPetrov"}, "name", "line break"),
        ({"name": "Ivan\u2028Petrov"}, "name", "line break"),
        ({"name": "Ivan\x07"}, "name", "control character"),
        ({"name": "Ivan\x00"}, "name", "control character"),
        ({"name": "Ivan\ud800"}, "name", "control character"),  # a lone surrogate
        ({"company": "A\nB"}, "company", "line break"),
        ({"company": "c" * 256}, "company", "at most 255"),
        ({"email": "ivan"}, "email", "not an e-mail address"),
        ({"email": "ivan@localhost"}, "email", "not an e-mail address"),
        ({"email": "iv an@example.com"}, "email", "not an e-mail address"),
        ({"email": "a@b.c\n"}, "email", "not an e-mail address"),  # inner only: strip first
        ({"email": "a@b.co\r\nBcc: x@y.z"}, "email", "line break"),
        ({"notes": "n" * (MAX_NOTES_CHARS + 1)}, "notes", f"at most {MAX_NOTES_CHARS}"),
        ({"notes": "bell\x07"}, "notes", "control character"),
    ],
)
def test_bad_fields_are_refused_and_nothing_is_kept(
    db: Engine, fields: dict[str, str], field: str, message: str
) -> None:
    values = {"phone": "74951234567", "name": "Ivan", **fields}
    if field == "email" and fields["email"] == "a@b.c\n":
        # Surrounding blanks are trimmed, so this one is fine: a one-letter top-level domain.
        card = create_contact(db, tenant="acme", contact=NewContact(**values))
        assert card.email == "a@b.c"
        return
    with pytest.raises(InvalidContactError, match=message) as info:
        create_contact(db, tenant="acme", contact=NewContact(**values))
    assert isinstance(info.value, PhonebookError)
    assert info.value.details["field"] == field
    assert count(db) == 0


def test_the_longest_allowed_values_are_kept(db: Engine) -> None:
    card = create_contact(
        db,
        tenant="acme",
        contact=NewContact(
            phone="+" + "9" * 20,
            name="N" * MAX_NAME_CHARS,
            company="C" * 255,
            email="e" * 243 + "@example.com",
            notes="n" * MAX_NOTES_CHARS,
        ),
    )
    assert len(card.phone) == 21 and len(card.name) == MAX_NAME_CHARS and card.email is not None
    assert len(card.email) == 255


def test_an_unknown_field_is_refused_by_the_input_model() -> None:
    with pytest.raises(ValueError, match="extra"):
        NewContact.model_validate({"phone": "101", "name": "x", "fax": "1"})


# Listing and search ---------------------------------------------------------------------------


@pytest.fixture
def book(db: Engine) -> Engine:
    add(db, "+7 (495) 123-45-67", "Ivan Petrov", company="Roga i Kopyta", email="ivan@roga.ru")
    add(db, "+7 812 555-01-02", "anna Smirnova", company="Acme Corp", email="anna@acme.com")
    add(db, "101", "Reception", notes="front desk")
    add(db, "74957770000", "Семёнов Пётр", company="ИП Ромашка")
    add(db, "84951234567", "Boris 100%_Sure")
    add(db, "74951234567", "Other tenant's Ivan", tenant="globex")
    return db


def names(page: Any) -> list[str]:
    return [card.name for card in page.items]


def test_the_listing_is_ordered_by_name_and_counts_every_card(book: Engine) -> None:
    page = list_contacts(book, tenant="acme")
    assert page.total == 5
    assert names(page) == sorted(names(page))
    assert set(names(page)) == {
        "Ivan Petrov",
        "anna Smirnova",
        "Reception",
        "Семёнов Пётр",
        "Boris 100%_Sure",
    }


def test_the_listing_comes_a_page_at_a_time(book: Engine) -> None:
    everything = names(list_contacts(book, tenant="acme"))
    first = list_contacts(book, tenant="acme", limit=2)
    second = list_contacts(book, tenant="acme", limit=2, offset=2)
    past = list_contacts(book, tenant="acme", limit=2, offset=10)
    assert (first.total, second.total, past.total) == (5, 5, 5)
    assert names(first) + names(second) == everything[:4]
    assert (first.limit, second.offset, past.items) == (2, 2, [])


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("+7 (495) 123", {"Ivan Petrov"}),  # 74951234567, not 84951234567
        ("495-123-45", {"Ivan Petrov", "Boris 100%_Sure"}),
        ("+7 812", {"anna Smirnova"}),
        ("101", {"Reception"}),
        ("petrov", {"Ivan Petrov"}),
        ("ANNA", {"anna Smirnova"}),
        ("acme", {"anna Smirnova"}),  # company and e-mail
        ("roga.ru", {"Ivan Petrov"}),
        ("семенов", {"Семёнов Пётр"}),  # any case, yo written as ie
        ("ромашка", {"Семёнов Пётр"}),
        ("100%", {"Boris 100%_Sure"}),  # LIKE wildcards are plain characters
        ("%", {"Boris 100%_Sure"}),
        ("_", {"Boris 100%_Sure"}),
        ("front desk", set()),  # the notes are not searched
        ("nobody", set()),
        ("  ", {"Ivan Petrov", "anna Smirnova", "Reception", "Семёнов Пётр", "Boris 100%_Sure"}),
    ],
)
def test_search_finds_names_companies_emails_and_phone_digits(
    book: Engine, search: str, found: set[str]
) -> None:
    page = list_contacts(book, tenant="acme", search=search)
    assert set(names(page)) == found
    assert page.total == len(found)


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 501}, "limit"),
        ({"offset": -1}, "offset"),
        ({"search": "x" * 201}, "search"),
        ({"search": "a\nb"}, "search"),
    ],
)
def test_bad_listing_options_are_refused(db: Engine, options: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidQueryError) as info:
        list_contacts(db, tenant="acme", **options)
    assert (info.value.error_id, info.value.details["field"]) == ("invalid-query", field)


# Screen-pop lookup ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "caller", ["+74951234567", "74951234567", "7 (495) 123-45-67", "+7.495.123.45.67"]
)
def test_the_caller_is_found_whatever_the_switch_writes(db: Engine, caller: str) -> None:
    contact = add(db, "+7 (495) 123-45-67", "Ivan")
    card = find_caller(db, tenant="acme", number=caller)
    assert card is not None and card.id == contact


@pytest.mark.parametrize("caller", ["84951234567", "4951234567", "004951234567"])
def test_the_last_ten_digits_find_the_only_card_that_has_them(db: Engine, caller: str) -> None:
    contact = add(db, "+74951234567", "Ivan")
    card = find_caller(db, tenant="acme", number=caller)
    assert card is not None and card.id == contact


def test_a_stored_national_number_is_found_from_the_international_one(db: Engine) -> None:
    contact = add(db, "(495) 123-45-67", "Ivan")
    card = find_caller(db, tenant="acme", number="+74951234567")
    assert card is not None and card.id == contact


def test_an_exact_number_wins_over_the_last_ten_digits(db: Engine) -> None:
    add(db, "+74951234567", "Moscow Ivan")
    exact = add(db, "84951234567", "Trunk-prefixed Ivan")
    card = find_caller(db, tenant="acme", number="84951234567")
    assert card is not None and card.id == exact


def test_two_cards_with_the_same_last_ten_digits_are_no_match(db: Engine) -> None:
    add(db, "+74951234567", "Ivan")
    add(db, "+14951234567", "John")
    assert find_caller(db, tenant="acme", number="84951234567") is None


@pytest.mark.parametrize("caller", ["anonymous", "", None, "12", "74951234568", "234567"])
def test_an_unknown_or_hidden_caller_is_no_card(db: Engine, caller: str | None) -> None:
    add(db, "+74951234567", "Ivan")
    add(db, "1234567", "Short")
    assert find_caller(db, tenant="acme", number=caller) is None


# Tenants ----------------------------------------------------------------------------------------


def test_a_tenant_never_sees_or_touches_anothers_cards(db: Engine) -> None:
    theirs = add(db, "+74951234567", "Globex Ivan", tenant="globex")
    # The same number is a card of its own in another tenant's book.
    ours = add(db, "+74951234567", "Acme Ivan", tenant="acme")
    assert ours != theirs
    for call in (
        lambda: get_contact(db, tenant="acme", contact_id=theirs),
        lambda: update_contact(
            db, tenant="acme", contact_id=theirs, changes=ContactChanges(name="mine now")
        ),
        lambda: delete_contact(db, tenant="acme", contact_id=theirs),
    ):
        with pytest.raises(ContactNotFoundError):
            call()
    assert get_contact(db, tenant="globex", contact_id=theirs).name == "Globex Ivan"
    assert names(list_contacts(db, tenant="acme")) == ["Acme Ivan"]
    assert names(list_contacts(db, tenant="acme", search="globex")) == []
    acme_card = find_caller(db, tenant="acme", number="84951234567")
    assert acme_card is not None and acme_card.id == ours
    assert find_caller(db, tenant="initech", number="+74951234567") is None
