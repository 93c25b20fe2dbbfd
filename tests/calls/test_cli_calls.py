"""``callcenter calls``: a call's whole record, the worst scores, comments and dispositions
from the terminal, on the embedded SQLite database; bad input gets a clear message."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from callcenter.db.engine import make_engine
from callcenter.db.migrate import upgrade
from callcenter.db.models import Call, CallLeg, QualityScore, Recording

REPO = Path(__file__).resolve().parents[2]
CALL = "11111111-2222-4333-8444-555555555555"


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cc.db'}"
    upgrade(url)
    engine = make_engine(url)
    at = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    with Session(engine) as session:
        session.add_all([
            Call(call_uuid=CALL, tenant="acme", queue="sales", agent="1000", outcome="answered",
                 caller_number="79161234567", did="74951234567", campaign="radio",
                 started_at=at, ended_at=at, wait_ms=95_000, talk_ms=60_000,
                 cost=Decimal("0.45")),
            CallLeg(leg_uuid=CALL, call_uuid=CALL, tenant="acme", role="caller", billsec=61,
                    hangup_cause="NORMAL_CLEARING", hangup_side="remote"),
            Recording(call_uuid=CALL, tenant="acme", source_path="/r/x.wav", status="done",
                      storage_uri="file:///s/x.flac", format="flac", duration_s=61.0,
                      sha256="ab" * 32, silence_share=0.1, overtalk_s=0.0),
            QualityScore(call_uuid=CALL, tenant="acme", queue="sales", agent="1000", score=85,
                         reasons=[{"rule": "long_wait", "penalty": 15,
                                   "detail": "waited 95 s, limit 60 s"}], scored_at=at),
        ])  # fmt: skip
        session.commit()
    engine.dispose()
    return url


def calls(database: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CALLCENTER_")}
    env["CALLCENTER_DATABASE_URL"] = database
    return subprocess.run(
        [sys.executable, "-m", "callcenter", "calls", *args],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip


def test_comment_disposition_and_the_whole_record(database: str) -> None:
    center = str(REPO / "examples" / "center.yaml")
    done = calls(database, "comment", CALL, "--tenant", "acme", "--author", "olga",
                 "--text", "polite, but slow", "--offset", "12.5")  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = calls(database, "disposition", CALL, "sale", "--tenant", "acme", "--author", "olga",
                 "--center", center)  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = calls(database, "show", CALL, "--tenant", "acme")
    assert shown.returncode == 0, shown.stderr
    text = shown.stdout
    assert "campaign: radio" in text and "cost: 0.45" in text
    assert "recording done: file:///s/x.flac flac 61.0s" in text
    assert "disposition sale by olga" in text
    assert "comment by olga at 12.5s" in text and "polite, but slow" in text
    assert "quality 85 (long_wait -15: waited 95 s, limit 60 s)" in text
    worst = calls(database, "worst", "--tenant", "acme")
    assert worst.returncode == 0 and worst.stdout.startswith(" 85 " + CALL)


def test_bad_input_is_refused_with_what_to_fix(database: str) -> None:
    center = str(REPO / "examples" / "center.yaml")
    wrong = calls(database, "disposition", CALL, "bought", "--tenant", "acme", "--author", "o",
                  "--center", center)  # fmt: skip
    assert wrong.returncode == 1 and "sale" in wrong.stderr  # the allowed codes are named
    other = calls(database, "show", CALL, "--tenant", "globex")
    assert other.returncode == 1 and "no call" in other.stderr.lower()
    empty = calls(database, "comment", CALL, "--tenant", "acme", "--author", "o", "--text", " ")
    assert empty.returncode == 1 and empty.stderr.strip()
    missing = calls(database, "show")
    assert missing.returncode == 2 and "UUID" in missing.stderr
