"""Phone book search speed on PostgreSQL: ``list_contacts`` (the API's and the agent page's
search: one page of 50 cards and the total) on a big book, with the trigram indexes of
migration 0009 and without them (what a database without pg_trgm does: a scan of the book).

    .venv/bin/python bench/phonebook_search.py [--contacts 1000000] [--rounds 5]

The book: ``--contacts`` cards of one tenant (numbers +74951000000..., names and companies of
random-looking words), plus as many of another tenant. Searches: a name fragment, a company,
an e-mail fragment, part of a number typed with spaces and brackets, and a text found nowhere;
each is timed ``--rounds`` times, the median kept. Last line:
``indexed_ms=<median of the searches' medians> scan_ms=<the same without the indexes>
speedup=<scan/indexed>``.

PostgreSQL at ``CC_BENCH_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/postgres;
a database of its own is created and dropped).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import Engine, text

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.scratch_db import scratch_database  # noqa: E402
from callcenter.db.models import Base  # noqa: E402
from callcenter.phonebook.book import list_contacts  # noqa: E402

TENANT = "bench"
SEARCHES = ("ivan 4f2", "company 777", "@mail-12", "+7 (495) 100-23", "nowhere-to-be-found")


def _fill(engine: Engine, contacts: int) -> None:
    with engine.begin() as conn:
        for tenant, first in ((TENANT, 1_000_000), ("other", 5_000_000)):
            conn.execute(
                text(
                    "INSERT INTO contacts (tenant, phone, phone_digits, phone_tail, name, "
                    "company, email, search_text, created_at, updated_at) "
                    "SELECT :tenant, '+7495' || g, '7495' || g, right('7495' || g, 10), "
                    "'Ivan ' || left(md5(g::text), 6), 'Company ' || (g % 1000), "
                    "'user' || g || '@mail-' || (g % 100) || '.example.com', "
                    "lower('ivan ' || left(md5(g::text), 6) || ' company ' || (g % 1000) || "
                    "' user' || g || '@mail-' || (g % 100) || '.example.com'), now(), now() "
                    "FROM generate_series(:first, :last) g"
                ),
                {"tenant": tenant, "first": first, "last": first + contacts - 1},
            )
        conn.execute(text("ANALYZE contacts"))


def _time(engine: Engine, rounds: int) -> list[float]:
    """The median time (ms) of each search."""
    medians = []
    for search in SEARCHES:
        list_contacts(engine, tenant=TENANT, search=search)  # warm
        times = []
        for _ in range(rounds):
            start = time.perf_counter()
            list_contacts(engine, tenant=TENANT, search=search)
            times.append((time.perf_counter() - start) * 1000)
        medians.append(statistics.median(times))
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with scratch_database() as engine:
        trigrams = [i for i in Base.metadata.tables["contacts"].indexes if "_trgm" in str(i.name)]
        with engine.begin() as conn:
            for index in trigrams:
                index.drop(conn)
        start = time.perf_counter()
        _fill(engine, args.contacts)
        print(f"book: {args.contacts} cards (+{args.contacts} of another tenant) in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        scan = _time(engine, args.rounds)
        start = time.perf_counter()
        with engine.begin() as conn:
            for index in trigrams:
                index.create(conn)
            conn.execute(text("ANALYZE contacts"))
        print(f"trigram indexes built in {time.perf_counter() - start:.1f} s")
        indexed = _time(engine, args.rounds)
    for search, without, with_ in zip(SEARCHES, scan, indexed, strict=True):
        print(f"{search!r:24} scan {without:8.1f} ms   indexed {with_:7.1f} ms")
    scan_ms, indexed_ms = statistics.median(scan), statistics.median(indexed)
    print(f"indexed_ms={indexed_ms:.1f} scan_ms={scan_ms:.1f} speedup={scan_ms / indexed_ms:.0f}")


if __name__ == "__main__":
    main()
