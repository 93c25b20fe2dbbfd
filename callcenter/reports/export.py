"""Any ``Report`` as a file: CSV, XLSX (openpyxl), a printable PDF summary with its charts
(fpdf2, charts drawn with the PDF's own lines and rectangles), JSON, or a text table for the
terminal. Everything here reads the generic shape only (columns, rows, totals, charts), so
every report exports the same way.

CSV and XLSX keep the figures as numbers (seconds as seconds, percentages as 0..100, times in
the tenant's zone) for a spreadsheet to compute with; the table and the PDF show them as a
person reads them (h:mm:ss, 95.0%).
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from callcenter.reports.model import Chart, Column, ColumnKind, Granularity, Report
from callcenter.reports.periods import zone

__all__ = [
    "FORMATS",
    "Exported",
    "export",
    "filename",
    "format_value",
    "period_text",
    "to_csv",
    "to_json",
    "to_pdf",
    "to_table",
    "to_xlsx",
]

FORMATS = ("json", "csv", "xlsx", "pdf")


@dataclass(frozen=True)
class Exported:
    body: bytes
    content_type: str
    filename: str


# -- values ------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return None if isinstance(value, float) and math.isnan(value) else float(value)
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _moment(value: Any, tz: ZoneInfo) -> datetime | None:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
    else:
        return None
    if moment.tzinfo is None:
        return moment
    return moment.astimezone(tz)


def hms(seconds: float) -> str:
    total = round(seconds)
    sign = "-" if total < 0 else ""
    total = abs(total)
    return f"{sign}{total // 3600}:{total % 3600 // 60:02d}:{total % 60:02d}"


def format_value(value: Any, kind: ColumnKind, tz: ZoneInfo | None = None) -> str:
    """A figure as a person reads it (the table and the PDF)."""
    if value is None or value == "":
        return ""
    number = _number(value)
    if kind is ColumnKind.INT and number is not None:
        return f"{round(number):,}".replace(",", " ")
    if kind is ColumnKind.FLOAT and number is not None:
        return f"{number:,.2f}".replace(",", " ")
    if kind is ColumnKind.PERCENT and number is not None:
        return f"{number:.1f}%"
    if kind is ColumnKind.SECONDS and number is not None:
        return hms(number)
    if kind is ColumnKind.MONEY and number is not None:
        return f"{number:,.2f}".replace(",", " ")
    if kind is ColumnKind.DATETIME:
        moment = _moment(value, tz or ZoneInfo("UTC"))
        if moment is not None:
            return moment.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _raw(value: Any, kind: ColumnKind, tz: ZoneInfo) -> Any:
    """A figure for a spreadsheet: numbers stay numbers, times are ISO in the tenant's zone."""
    if value is None:
        return None
    if kind in (ColumnKind.INT, ColumnKind.SECONDS) and _number(value) is not None:
        number = _number(value)
        assert number is not None
        return int(number) if number == int(number) else round(number, 3)
    if kind in (ColumnKind.FLOAT, ColumnKind.PERCENT, ColumnKind.MONEY):
        number = _number(value)
        if number is not None:
            return round(number, 4)
    if kind is ColumnKind.DATETIME:
        moment = _moment(value, tz)
        if moment is not None:
            return moment.isoformat()
    return value


def _tz(report: Report) -> ZoneInfo:
    return zone(report.request.tz)


def period_text(report: Report) -> str:
    """``2026-03-01 to 2026-03-31 (Europe/Moscow)``, or with times when not whole days."""
    tz = _tz(report)
    start = report.request.start.astimezone(tz)
    end = report.request.end.astimezone(tz)
    if start.time() == time() and end.time() == time():
        last = (end - timedelta(days=1)).date()
        days = start.date().isoformat()
        if last != start.date():
            days += f" to {last.isoformat()}"
        return f"{days} ({report.request.tz})"
    return f"{start:%Y-%m-%d %H:%M} to {end:%Y-%m-%d %H:%M} ({report.request.tz})"


def _filters(report: Report) -> str:
    request = report.request
    parts = [
        f"{label}: {', '.join(values)}"
        for label, values in (
            ("queues", request.queues),
            ("agents", request.agents),
            ("DIDs", request.dids),
            ("gateways", request.gateways),
        )
        if values
    ]
    return "; ".join(parts)


def _header_lines(report: Report) -> list[str]:
    lines = [f"Tenant: {report.request.tenant}", f"Period: {period_text(report)}"]
    if report.request.granularity is not Granularity.TOTAL:
        lines.append(f"By: {report.request.granularity.value}")
    filters = _filters(report)
    if filters:
        lines.append(f"Filters: {filters}")
    return lines


def filename(report: Report, extension: str) -> str:
    tz = _tz(report)
    start = report.request.start.astimezone(tz).date().isoformat()
    end = (report.request.end.astimezone(tz) - timedelta(microseconds=1)).date().isoformat()
    span = start if start == end else f"{start}_{end}"
    safe = "".join(
        c if (c.isascii() and c.isalnum()) or c in "-_" else "-" for c in report.request.tenant
    )
    return f"{report.name}-{safe}-{span}.{extension}"


def _all_rows(report: Report) -> list[tuple[dict[str, Any], bool]]:
    rows = [(row, False) for row in report.rows]
    if report.totals is not None:
        rows.append((report.totals, True))
    return rows


# -- text, JSON, CSV ---------------------------------------------------------------------------


def to_json(report: Report) -> bytes:
    return json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=2).encode()


def to_table(report: Report) -> str:
    """The report as a text table for the terminal."""
    tz = _tz(report)
    head = [c.label for c in report.columns]
    body = [
        [format_value(row.get(c.key), c.kind, tz) for c in report.columns]
        for row, _ in _all_rows(report)
    ]
    widths = [max(len(cell) for cell in column) for column in zip(head, *body, strict=False)]
    right = [c.kind is not ColumnKind.TEXT for c in report.columns]

    def line(cells: list[str]) -> str:
        return "  ".join(
            cell.rjust(w) if r else cell.ljust(w)
            for cell, w, r in zip(cells, widths, right, strict=True)
        ).rstrip()

    out = [report.title, *_header_lines(report), "", line(head)]
    out.append("  ".join("-" * w for w in widths))
    rows = _all_rows(report)
    for (_, is_total), cells in zip(rows, body, strict=True):
        if is_total:
            out.append("  ".join("-" * w for w in widths))
        out.append(line(cells))
    if not report.rows:
        out.append("(no calls in this period)")
    out.extend(f"Note: {note}" for note in report.notes)
    return "\n".join(out) + "\n"


def to_csv(report: Report) -> bytes:
    """One header line (the columns' labels), the rows, the totals last. UTF-8 with a BOM so
    that Excel opens it right."""
    tz = _tz(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([c.label for c in report.columns])
    for row, _ in _all_rows(report):
        writer.writerow(["" if (v := _raw(row.get(c.key), c.kind, tz)) is None else v
                         for c in report.columns])  # fmt: skip
    return buffer.getvalue().encode("utf-8-sig")


# -- XLSX --------------------------------------------------------------------------------------

_XLSX_FORMATS = {
    ColumnKind.INT: "#,##0",
    ColumnKind.FLOAT: "#,##0.00",
    ColumnKind.PERCENT: '0.0"%"',
    ColumnKind.SECONDS: "#,##0",
    ColumnKind.MONEY: "#,##0.00",
    ColumnKind.DATETIME: "yyyy-mm-dd hh:mm",
}


def _cell_value(value: Any, column: Column, tz: ZoneInfo) -> Any:
    if column.kind is ColumnKind.DATETIME:
        moment = _moment(value, tz)
        return None if moment is None else moment.replace(tzinfo=None)
    raw = _raw(value, column.kind, tz)
    if isinstance(raw, str | int | float) or raw is None:
        return raw
    return str(raw)


def to_xlsx(report: Report) -> bytes:
    """A workbook: the report's sheet (header row, rows, totals in bold), "About" (period,
    zone, filters, notes) and, for each chart, a sheet with its data and a native chart."""
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, LineChart, Reference
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    tz = _tz(report)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = _sheet_title(report.name or "report")
    sheet.append([c.label for c in report.columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row, is_total in _all_rows(report):
        sheet.append([_cell_value(row.get(c.key), c, tz) for c in report.columns])
        for n, column in enumerate(report.columns, start=1):
            cell = sheet.cell(row=sheet.max_row, column=n)
            if column.kind in _XLSX_FORMATS:
                cell.number_format = _XLSX_FORMATS[column.kind]
            if is_total:
                cell.font = Font(bold=True)
    for n, column in enumerate(report.columns, start=1):
        sheet.column_dimensions[get_column_letter(n)].width = max(10, len(column.label) + 2)
    sheet.freeze_panes = "A2"

    about = book.create_sheet("About")
    about.append(["Report", report.title])
    for line in _header_lines(report):
        key, _, value = line.partition(": ")
        about.append([key, value])
    about.append(["Source", report.source])
    for note in report.notes:
        about.append(["Note", note])
    about.column_dimensions["A"].width = 12
    about.column_dimensions["B"].width = 60

    for n, chart in enumerate(report.charts, start=1):
        data = book.create_sheet(_sheet_title(f"Chart {n}"))
        data.append(["", *[s.label for s in chart.series]])
        for i, label in enumerate(chart.x_labels):
            data.append([label, *[_at(s.values, i) for s in chart.series]])
        drawing: BarChart | LineChart = LineChart() if chart.kind == "line" else BarChart()
        drawing.title = chart.title
        if chart.unit:
            drawing.y_axis.title = chart.unit
        if len(chart.x_labels) and chart.series:
            values = Reference(
                data, min_col=2, max_col=1 + len(chart.series), min_row=1,
                max_row=1 + len(chart.x_labels),
            )  # fmt: skip
            drawing.add_data(values, titles_from_data=True)
            drawing.set_categories(
                Reference(data, min_col=1, min_row=2, max_row=1 + len(chart.x_labels))
            )
        drawing.width, drawing.height = 24, 12
        data.add_chart(drawing, f"{get_column_letter(len(chart.series) + 3)}2")

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _sheet_title(text: str) -> str:
    cleaned = "".join("-" if c in "[]:*?/\\" else c for c in text)
    return cleaned[:31] or "Sheet"


def _at(values: list[float | None], i: int) -> float | None:
    return values[i] if i < len(values) else None


# -- PDF ---------------------------------------------------------------------------------------

_FONT_DIRS = (Path("/usr/share/fonts/truetype/dejavu"), Path("/usr/share/fonts/dejavu"))
_SERIES_COLORS = [(37, 99, 235), (234, 88, 12), (22, 163, 74), (147, 51, 234), (220, 38, 38),
                  (8, 145, 178)]  # fmt: skip


def _unicode_font() -> tuple[Path, Path] | None:
    for folder in _FONT_DIRS:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file() and bold.is_file():
            return regular, bold
    return None


class _Pdf:
    """fpdf2 with the one font it has: DejaVu (any script) where installed, else Helvetica
    with what latin-1 cannot hold replaced by '?'."""

    def __init__(self, landscape: bool) -> None:
        from fpdf import FPDF

        self.pdf = FPDF(orientation="L" if landscape else "P", unit="mm", format="A4")
        self.pdf.set_auto_page_break(auto=True, margin=12)
        self.pdf.set_margins(12, 12, 12)
        fonts = _unicode_font()
        if fonts is not None:
            self.pdf.add_font("dejavu", "", str(fonts[0]))
            self.pdf.add_font("dejavu", "B", str(fonts[1]))
            self.family, self.unicode = "dejavu", True
        else:
            self.family, self.unicode = "helvetica", False
        self.pdf.add_page()

    def text(self, value: str) -> str:
        if self.unicode:
            return value
        value = value.replace("\u2013", "-").replace("\u2014", "-")
        return value.encode("latin-1", "replace").decode("latin-1")

    def font(self, size: float, bold: bool = False) -> None:
        self.pdf.set_font(self.family, "B" if bold else "", size)

    @property
    def width(self) -> float:
        return float(self.pdf.w - self.pdf.l_margin - self.pdf.r_margin)

    def room(self, height: float) -> None:
        """A new page unless ``height`` mm still fit on this one."""
        if self.pdf.get_y() + height > self.pdf.h - self.pdf.b_margin:
            self.pdf.add_page()

    def line_of_text(self, value: str, size: float = 9, bold: bool = False, h: float = 5) -> None:
        self.font(size, bold)
        self.pdf.multi_cell(self.width, h, self.text(value), new_x="LMARGIN", new_y="NEXT")


def to_pdf(report: Report) -> bytes:
    """A printable summary: title, period and filters, the table with its totals, each chart
    drawn as vector bars or lines, and the notes."""
    tz = _tz(report)
    doc = _Pdf(landscape=len(report.columns) > 6)
    pdf = doc.pdf
    pdf.set_title(doc.text(report.title))
    pdf.set_creator("callcenter")
    doc.line_of_text(report.title, size=16, bold=True, h=8)
    for line in _header_lines(report):
        doc.line_of_text(line, size=9)
    pdf.ln(3)
    _pdf_table(doc, report, tz)
    for chart in report.charts:
        pdf.ln(4)
        _pdf_chart(doc, chart)
    if report.notes:
        pdf.ln(3)
        for note in report.notes:
            doc.line_of_text(f"Note: {note}", size=8)
    doc.font(7)
    pdf.ln(2)
    doc.line_of_text(f"Figures from: {report.source}", size=7)
    return bytes(pdf.output())


def _pdf_table(doc: _Pdf, report: Report, tz: ZoneInfo) -> None:
    pdf = doc.pdf
    columns = report.columns
    if not columns:
        return
    size = 8 if len(columns) <= 8 else 6.5
    doc.font(size)
    cells = [
        ([format_value(row.get(c.key), c.kind, tz) for c in columns], is_total)
        for row, is_total in _all_rows(report)
    ]
    natural = []
    for n, column in enumerate(columns):
        doc.font(size, bold=True)
        wanted = pdf.get_string_width(doc.text(column.label))
        doc.font(size)
        for row, _ in cells:
            wanted = max(wanted, pdf.get_string_width(doc.text(row[n])))
        natural.append(min(wanted + 3, 70))
    scale = min(1.0, doc.width / sum(natural)) if sum(natural) else 1.0
    widths = [w * scale for w in natural]
    h = 5.5 if size >= 8 else 4.5

    def header() -> None:
        doc.font(size, bold=True)
        pdf.set_fill_color(229, 231, 235)
        for column, w in zip(columns, widths, strict=True):
            align = "L" if column.kind is ColumnKind.TEXT else "R"
            pdf.cell(w, h, _fit(doc, column.label, w), border=1, align=align, fill=True)
        pdf.ln(h)

    header()
    for n, (row, is_total) in enumerate(cells):
        if pdf.get_y() + h > pdf.h - pdf.b_margin:
            pdf.add_page()
            header()
        doc.font(size, bold=is_total)
        fill = is_total or n % 2 == 1
        pdf.set_fill_color(243, 244, 246) if not is_total else pdf.set_fill_color(219, 234, 254)
        for column, w, value in zip(columns, widths, row, strict=True):
            align = "L" if column.kind is ColumnKind.TEXT else "R"
            pdf.cell(w, h, _fit(doc, value, w), border=1, align=align, fill=fill)
        pdf.ln(h)
    if not report.rows:
        doc.line_of_text("No calls in this period.", size=9)


def _fit(doc: _Pdf, value: str, width: float) -> str:
    text = doc.text(value)
    if doc.pdf.get_string_width(text) <= width - 1.5:
        return text
    while text and doc.pdf.get_string_width(text + "...") > width - 1.5:
        text = text[:-1]
    return text + ("..." if doc.unicode else "")


def _nice_top(value: float) -> float:
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def _short(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _pdf_chart(doc: _Pdf, chart: Chart) -> None:
    pdf = doc.pdf
    height = 55.0
    doc.room(height + 22)
    title = chart.title + (f" ({chart.unit})" if chart.unit else "")
    doc.line_of_text(title, size=10, bold=True, h=6)
    values = [v for s in chart.series for v in s.values if v is not None]
    points = len(chart.x_labels)
    if not points or not values:
        doc.line_of_text("No data to chart.", size=8)
        return
    top = _nice_top(max(0.0, *values))
    left = pdf.l_margin + 12
    plot_w = doc.width - 14
    y0 = pdf.get_y() + 2
    base = y0 + height
    # Grid and the y axis' figures.
    doc.font(6.5)
    pdf.set_draw_color(209, 213, 219)
    pdf.set_line_width(0.1)
    for k in range(5):
        y = base - height * k / 4
        pdf.line(left, y, left + plot_w, y)
        pdf.set_xy(pdf.l_margin, y - 2)
        pdf.cell(11, 4, _short(top * k / 4), align="R")
    slot = plot_w / points
    series = chart.series
    if chart.kind == "line":
        for n, one in enumerate(series):
            color = _SERIES_COLORS[n % len(_SERIES_COLORS)]
            pdf.set_draw_color(*color)
            pdf.set_fill_color(*color)
            pdf.set_line_width(0.5)
            previous: tuple[float, float] | None = None
            for i in range(points):
                value = _at(one.values, i)
                if value is None:
                    previous = None
                    continue
                x = left + slot * (i + 0.5)
                y = base - height * max(0.0, value) / top
                if previous is not None:
                    pdf.line(previous[0], previous[1], x, y)
                pdf.ellipse(x - 0.6, y - 0.6, 1.2, 1.2, style="F")
                previous = (x, y)
    else:
        bar_w = max(0.3, slot * 0.8 / max(1, len(series)))
        for n, one in enumerate(series):
            pdf.set_fill_color(*_SERIES_COLORS[n % len(_SERIES_COLORS)])
            for i in range(points):
                value = _at(one.values, i)
                if not value or value <= 0:
                    continue
                h = height * value / top
                x = left + slot * i + slot * 0.1 + n * bar_w
                pdf.rect(x, base - h, bar_w, h, style="F")
    pdf.set_draw_color(107, 114, 128)
    pdf.set_line_width(0.2)
    pdf.line(left, base, left + plot_w, base)
    # The x axis' labels: as many as fit.
    doc.font(6.5)
    widest = max(pdf.get_string_width(doc.text(label)) for label in chart.x_labels) + 2
    every = max(1, math.ceil(widest / slot))
    for i, label in enumerate(chart.x_labels):
        if i % every:
            continue
        pdf.set_xy(left + slot * i + slot / 2 - widest / 2, base + 1)
        pdf.cell(widest, 4, doc.text(label), align="C")
    pdf.set_xy(pdf.l_margin, base + 6)
    if len(series) > 1 or series[0].label:
        x = pdf.l_margin + 12
        for n, one in enumerate(series):
            pdf.set_fill_color(*_SERIES_COLORS[n % len(_SERIES_COLORS)])
            pdf.rect(x, pdf.get_y() + 1, 3, 3, style="F")
            pdf.set_xy(x + 4, pdf.get_y())
            label = doc.text(one.label)
            w = pdf.get_string_width(label) + 6
            pdf.cell(w, 5, label)
            x += w + 4
        pdf.ln(6)
    pdf.set_draw_color(0, 0, 0)


# -- one entry point ---------------------------------------------------------------------------


def export(report: Report, fmt: str) -> Exported:
    if fmt == "csv":
        return Exported(to_csv(report), "text/csv; charset=utf-8", filename(report, "csv"))
    if fmt == "xlsx":
        return Exported(
            to_xlsx(report),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename(report, "xlsx"),
        )
    if fmt == "pdf":
        return Exported(to_pdf(report), "application/pdf", filename(report, "pdf"))
    if fmt == "json":
        return Exported(to_json(report), "application/json", filename(report, "json"))
    raise ValueError(f"format {fmt!r} is not one of: {', '.join(FORMATS)}")
