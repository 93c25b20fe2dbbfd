"""On PostgreSQL a phone book search is served by the trigram indexes (pg_trgm), not a scan of
the whole book: the query the search builds is the one the indexes can answer."""

from __future__ import annotations

from sqlalchemy import Engine, select, text

from callcenter.db.models import Base, Contact
from callcenter.phonebook.book import search_condition

TENANT = "trgm"
TRIGRAMS = [
    i for i in Base.metadata.tables["contacts"].indexes if i.name and i.name.endswith("_trgm")
]


def plan(db: Engine, search: str) -> str:
    """The plan of the search's statement, sent with its parameters as the search sends it."""
    statement = select(Contact.id).where(Contact.tenant == TENANT, *search_condition(search))
    with db.connect() as conn:
        compiled = statement.compile(dialect=conn.dialect)
        rows = conn.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params).scalars()
        return "\n".join(rows)


def test_a_search_uses_the_trigram_indexes(db: Engine) -> None:
    assert len(TRIGRAMS) == 2
    with db.begin() as conn:
        # A book big enough for the planner to prefer the indexes to reading it all; the
        # indexes (the models', as the migrations build them) are made after the rows, which
        # is quicker than keeping them up to date row by row.
        for index in TRIGRAMS:
            index.drop(conn)
        conn.execute(
            text(
                "INSERT INTO contacts (tenant, phone, phone_digits, name, search_text, "
                "created_at, updated_at) "
                "SELECT :tenant, '+7495' || g, '7495' || g, 'Name ' || md5(g::text), "
                "'name ' || md5(g::text) || ' company ' || g, now(), now() "
                "FROM generate_series(1000000, 1119999) g"
            ),
            {"tenant": TENANT},
        )
        for index in TRIGRAMS:
            index.create(conn)
        conn.execute(text("ANALYZE contacts"))
    for search in ("Ivan Petrov", "+7 (495) 100-12"):
        found = plan(db, search)
        assert "Seq Scan" not in found, found
        assert "ix_contacts_search_text_trgm" in found, found
    assert "ix_contacts_phone_digits_trgm" in plan(db, "+7 (495) 100-12")
