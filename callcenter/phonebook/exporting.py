"""A tenant's phone book as a CSV file that the import reads back as it was."""

from __future__ import annotations

import codecs
import csv
import io

from sqlalchemy import Engine, select

from callcenter.db.models import Contact
from callcenter.phonebook.book import ordered_by_name, search_condition
from callcenter.phonebook.columns import FIELDS
from callcenter.phonebook.errors import InvalidQueryError
from callcenter.phonebook.formulas import defuse_formula

__all__ = ["export_csv"]


def export_csv(
    engine: Engine, *, tenant: str, search: str | None = None, delimiter: str = ","
) -> bytes:
    """The tenant's cards (those a search finds, when given) ordered by name: a header of
    phone, name, company, email, notes, in UTF-8 with a BOM so that Excel shows Cyrillic.

    A text starting like a formula (=, +, -, @) gets a ' in front, so a spreadsheet shows it
    instead of running it; the import takes that ' off again.
    """
    if delimiter not in (",", ";", "\t"):
        raise InvalidQueryError(
            f"delimiter {delimiter!r} is not one of , ; or tab", field="delimiter"
        )
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(FIELDS)
    columns = [getattr(Contact, field) for field in FIELDS]
    where = [Contact.tenant == tenant, *search_condition(search)]
    with engine.connect() as conn:
        for row in conn.execute(ordered_by_name(select(*columns).where(*where))):
            phone, *texts = row
            writer.writerow([phone, *(defuse_formula(t or "") for t in texts)])
    return codecs.BOM_UTF8 + out.getvalue().encode("utf-8")
