"""``callcenter report``: a table in the terminal, each file format, and errors that say what
to fix (exit 1), with the database of the settings."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from pypdf import PdfReader

from callcenter.cli import main
from tests.reports.sample import NAME, TITLE, registered

CENTER = """\
tenants:
  - name: acme
    domain: acme.example.com
    queues: [{name: sales}]
    agents: [{id: "1001", contact: user/1001}, {id: "1002", contact: user/1002}]
    tiers: [{queue: sales, agent: "1001"}]
"""


@pytest.fixture(autouse=True)
def sample(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("CALLCENTER_DATABASE_URL", database_url)
    monkeypatch.delenv("CALLCENTER_CONFIG", raising=False)
    with registered():
        yield


def run(*argv: str) -> int:
    return main(["report", *argv])


def test_a_table_in_the_terminal(capsys: pytest.CaptureFixture[str]) -> None:
    code = run(NAME, "--from", "2026-03-01", "--to", "2026-03-07", "--tenant", "acme",
               "--tz", "Europe/Moscow", "--granularity", "day")  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0
    assert TITLE in out and "Period: 2026-03-01 to 2026-03-07 (Europe/Moscow)" in out
    assert "Anna Ivanova" in out and "1:02:05" in out and "91.7%" in out and "Total" in out


def test_list_names_the_reports(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("list") == 0
    assert f"{NAME}\t{TITLE}" in capsys.readouterr().out


def test_csv_and_json_on_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(NAME, "--from", "2026-03-01", "--format", "csv", "--agent", "1002") == 0
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out.lstrip("\ufeff"))))
    assert rows[0][0] == "Agent" and rows[1][:2] == ["1002", "Борис Петров"]
    assert [row[0] for row in rows] == ["Agent", "1002", "Total"]
    assert run(NAME, "--from", "2026-03-01", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["request"]["start"] == "2026-03-01T00:00:00Z"
    assert data["request"]["end"] == "2026-03-02T00:00:00Z"


def test_xlsx_and_pdf_files(tmp_path: Path) -> None:
    xlsx, pdf = tmp_path / "r.xlsx", tmp_path / "r.pdf"
    assert run(NAME, "--from", "2026-03-01", "--format", "xlsx", "--out", str(xlsx)) == 0
    sheet = openpyxl.load_workbook(xlsx)[NAME]
    assert sheet["B2"].value == "Anna Ivanova"
    assert run(NAME, "--from", "2026-03-01", "--format", "pdf", "--out", str(pdf)) == 0
    assert TITLE in PdfReader(pdf).pages[0].extract_text()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--from", "2026-03-07", "--to", "2026-03-01"], "ends (2026-03-01) before it starts"),
        (["--from", "2026-03-01", "--tz", "Moscow"], "time zone 'Moscow' does not exist"),
        (["--from", "yesterday"], "'yesterday' is not a date"),
        (["--tenant", "nosuch"], "no tenant 'nosuch' in the center file (tenants: acme)"),
        (["--tenant", "acme", "--queue", "sales,vip"], "tenant 'acme' has no queue 'vip'"),
        (["--tenant", "acme", "--agent", "9999"], "tenant 'acme' has no agent '9999'"),
        (["--tenant", "acme", "--did", "74950000000"], "has no DID '74950000000'"),
    ],
)
def test_bad_input_says_what_to_fix(
    argv: list[str], says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    center = tmp_path / "center.yaml"
    center.write_text(CENTER)
    assert run(NAME, "--center", str(center), "--tenant", "acme", *argv) == 1
    err = capsys.readouterr().err
    assert says in err, err


def test_an_unknown_report_names_those_there_are(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("nosuch") == 1
    err = capsys.readouterr().err
    assert "no report 'nosuch' (reports: " in err
    # Every report there is, the test's own among them (others when their modules are loaded).
    assert NAME in err.split("(reports: ", 1)[1]


def test_options_are_key_value_pairs(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(NAME, "--tenant", "acme", "--option", "sl_seconds", "--format", "json") == 1
    assert "write key=value" in capsys.readouterr().err
    assert run(NAME, "--tenant", "acme", "--option", "sl_seconds=30", "--format", "json") == 0
    assert '"sl_seconds": 30' in capsys.readouterr().out
