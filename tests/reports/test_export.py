"""Every export of a report, read back: CSV with the csv module, XLSX with openpyxl, the PDF's
text with pypdf, JSON with json; and the terminal table."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

import openpyxl
import pytest
from pypdf import PdfReader

from callcenter.reports.errors import InvalidPeriodError
from callcenter.reports.export import (
    export,
    filename,
    format_value,
    period_text,
    to_csv,
    to_pdf,
    to_table,
    to_xlsx,
)
from callcenter.reports.model import ColumnKind, Report
from callcenter.reports.request import build_request
from tests.reports.sample import TITLE, sample_report


def report(tz: str = "Europe/Moscow", **kwargs: object) -> Report:
    request = build_request("acme", "2026-03-01", "2026-03-07", tz, "day", **kwargs)  # type: ignore[arg-type]
    return sample_report(None, request)


def test_values_read_as_a_person_reads_them() -> None:
    assert format_value(3725, ColumnKind.SECONDS) == "1:02:05"
    assert format_value(91.666, ColumnKind.PERCENT) == "91.7%"
    assert format_value(1234567, ColumnKind.INT) == "1 234 567"
    assert format_value(13.25, ColumnKind.MONEY) == "13.25"
    assert format_value(None, ColumnKind.INT) == ""
    assert period_text(report()) == "2026-03-01 to 2026-03-07 (Europe/Moscow)"
    assert filename(report(), "pdf") == "sample-agents-acme-2026-03-01_2026-03-07.pdf"


def test_csv_reads_back_with_numbers_and_local_times() -> None:
    text = to_csv(report()).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Agent", "Name", "Calls", "Answered", "Talk time", "Average handle",
                       "Cost", "Last call"]  # fmt: skip
    assert rows[1][:5] == ["1001", "Anna Ivanova", "12", "91.666", "3725"]
    # 10:05 UTC is 13:05 in Moscow.
    assert rows[1][7] == "2026-03-02T13:05:00+03:00"
    assert rows[2][1] == "Борис Петров" and rows[2][7] == ""
    assert rows[3][0] == "Total" and rows[3][2] == "15"
    assert len(rows) == 4


def test_xlsx_reads_back_with_formats_about_and_charts() -> None:
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(report())))
    assert book.sheetnames == ["sample-agents", "About", "Chart 1", "Chart 2"]
    sheet = book["sample-agents"]
    values = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Agent"
    assert values[1][:5] == ["1001", "Anna Ivanova", 12, 91.666, 3725]
    assert values[1][7] == datetime(2026, 3, 2, 13, 5)
    assert values[3][0] == "Total" and values[3][2] == 15
    assert sheet["D2"].number_format == '0.0"%"'
    assert sheet["A4"].font.b
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True)}
    assert about["Period"] == "2026-03-01 to 2026-03-07 (Europe/Moscow)"
    assert about["Note"] == "times in Europe/Moscow"
    chart_sheet = book["Chart 2"]
    assert [row for row in chart_sheet.iter_rows(values_only=True)][1] == ("08:00", 1)


def test_pdf_holds_the_title_table_totals_and_charts() -> None:
    body = to_pdf(report(agents=["1001", "1002"]))
    assert body.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(body))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for expected in (TITLE, "2026-03-01 to 2026-03-07 (Europe/Moscow)", "Filters: agents: 1001,",
                     "Anna Ivanova", "Борис Петров", "1:02:05", "91.7%", "Total",
                     "Calls per agent",
                     "Calls per hour (calls)", "08:00", "times in Europe/Moscow"):  # fmt: skip
        assert expected in text, expected
    # The charts are the PDF's own drawing: filled rectangles (bars) in the page's content.
    content = reader.pages[0].get_contents()
    assert content is not None
    assert b" re f" in content.get_data() or b" re\nf" in content.get_data()


def test_pdf_of_a_report_without_rows_or_charts() -> None:
    empty = report().model_copy(update={"rows": [], "charts": [], "totals": None})
    text = PdfReader(io.BytesIO(to_pdf(empty))).pages[0].extract_text()
    assert "No calls in this period." in text


def test_json_and_table() -> None:
    data = json.loads(export(report(), "json").body)
    assert data["name"] == "sample-agents" and data["rows"][0]["agent"] == "1001"
    table = to_table(report())
    assert "Anna Ivanova" in table and "1:02:05" in table and "Total" in table
    with pytest.raises(ValueError, match="not one of"):
        export(report(), "docx")


@pytest.mark.parametrize(
    ("start", "end", "tz", "granularity", "says"),
    [
        ("2026-03-07", "2026-03-01", "UTC", None, "before it starts"),
        ("2026-03-01", "2026-03-02", "Mars/Olympus", None, "does not exist"),
        ("2026-13-01", "2026-03-02", "UTC", None, "is not a date"),
        ("2026-03-01", "2026-03-02", "UTC", "fortnight", "granularity 'fortnight'"),
    ],
)
def test_bad_requests_say_what_to_fix(
    start: str, end: str, tz: str, granularity: str | None, says: str
) -> None:
    with pytest.raises(InvalidPeriodError, match=says):
        build_request("acme", start, end, tz, granularity)
