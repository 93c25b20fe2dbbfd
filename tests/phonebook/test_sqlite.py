"""The phone book on SQLite, the demo's database: schema from the models, every service."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from callcenter.db.engine import make_engine
from callcenter.db.models import Base
from callcenter.phonebook import (
    ContactChanges,
    ImportRowsError,
    NewContact,
    PhoneTakenError,
    create_contact,
    delete_contact,
    export_csv,
    find_caller,
    import_contacts,
    list_contacts,
    update_contact,
)
from tests.phonebook.files import count, csv_bytes, xlsx_bytes


@pytest.fixture
def lite(tmp_path: Path) -> Iterator[Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'demo' / 'callcenter.db'}")
    Base.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def test_the_phone_book_works_on_sqlite(lite: Engine) -> None:
    ivan = create_contact(
        lite, tenant="acme", contact=NewContact(phone="+7 (495) 123-45-67", name="Семёнов Пётр")
    )
    assert ivan.created_at.tzinfo is not None
    with pytest.raises(PhoneTakenError):
        create_contact(lite, tenant="acme", contact=NewContact(phone="74951234567", name="x"))
    # Case folding is done in Python: SQLite's own lower() knows ASCII only.
    assert [c.id for c in list_contacts(lite, tenant="acme", search="ПЕТР").items] == [ivan.id]
    assert list_contacts(lite, tenant="acme", search="+7 (495) 123").total == 1
    popped = find_caller(lite, tenant="acme", number="84951234567")
    assert popped is not None and popped.id == ivan.id
    update_contact(lite, tenant="acme", contact_id=ivan.id, changes=ContactChanges(company="A"))

    data = csv_bytes([["телефон", "имя"], ["74951234567", "Иван"], ["101", "Desk"]], delimiter=";",
                     encoding="cp1251")  # fmt: skip
    with pytest.raises(ImportRowsError):
        import_contacts(lite, tenant="acme", data=data, filename="b.csv")
    assert count(lite) == 1
    result = import_contacts(lite, tenant="acme", data=data, filename="b.csv", mode="upsert")
    assert (result.created, result.updated) == (1, 1)
    card = find_caller(lite, tenant="acme", number="+74951234567")
    assert card is not None and (card.name, card.company) == ("Иван", "A")
    xlsx = xlsx_bytes([["phone", "name"], [102, "Room"]])
    assert import_contacts(lite, tenant="globex", data=xlsx, filename="b.xlsx").created == 1
    assert export_csv(lite, tenant="globex").decode("utf-8-sig").splitlines()[1] == "102,Room,,,"
    delete_contact(lite, tenant="acme", contact_id=ivan.id)
    assert (count(lite, "acme"), count(lite, "globex")) == (1, 1)
