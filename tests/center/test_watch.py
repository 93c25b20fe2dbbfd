"""``CenterWatch``: a long-running process sees the center file's edits (YAML and rates files)
without a restart, and a broken edit changes nothing."""

from __future__ import annotations

import logging
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from callcenter.center import Center, CenterError
from callcenter.center.watch import CenterWatch

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def center_file(tmp_path: Path) -> Path:
    shutil.copy(REPO / "examples" / "center.yaml", tmp_path / "center.yaml")
    shutil.copytree(REPO / "examples" / "rates", tmp_path / "rates")
    return tmp_path / "center.yaml"


def rewrite(path: Path, old: str, new: str) -> None:
    """Change a file, and make sure its modification time moves (coarse file systems)."""
    before = path.stat().st_mtime_ns
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    if path.stat().st_mtime_ns == before:
        os.utime(path, ns=(before + 1_000_000, before + 1_000_000))


def zadarma_rate(center: Center, number: str) -> Decimal | None:
    route = next(r for r in center.tenant("acme").outbound_routes if r.name == "russia")
    rate = route.rates["zadarma"].lookup(number)
    return rate.per_minute if rate is not None else None


def channels(center: Center, gateway: str) -> int:
    return next(g.channels for g in center.tenant("acme").gateways if g.name == gateway)


def test_unchanged_files_are_not_read_again(center_file: Path) -> None:
    watch = CenterWatch(center_file)
    first = watch.current()
    assert watch.current() is first
    assert watch.reads == 1


def test_an_edited_yaml_or_rates_file_is_read_again(center_file: Path) -> None:
    watch = CenterWatch(center_file)
    assert channels(watch.current(), "zadarma") == 10
    rewrite(center_file, "channels: 10", "channels: 12")
    assert channels(watch.current(), "zadarma") == 12
    rates = center_file.parent / "rates" / "zadarma.csv"
    first_line = rates.read_text(encoding="utf-8").splitlines()[1]
    prefix = first_line.split(",")[0]
    rewrite(rates, first_line, f"{prefix},9.99")
    assert zadarma_rate(watch.current(), prefix + "1234567") == Decimal("9.99")
    assert watch.reads == 3


def test_a_broken_edit_keeps_the_last_good_center_and_is_logged_once(
    center_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watch = CenterWatch(center_file)
    good = watch.current()
    rewrite(center_file, "channels: 10", "channels: -1")
    with caplog.at_level(logging.ERROR, logger="callcenter.center"):
        assert watch.current() is good
        assert watch.current() is good
    failed = [r.getMessage() for r in caplog.records if "center_reload_failed" in r.getMessage()]
    assert len(failed) == 1 and "channels" in failed[0]
    rewrite(center_file, "channels: -1", "channels: 11")
    assert channels(watch.current(), "zadarma") == 11


def test_a_file_removed_after_the_first_read_keeps_the_last_good_center(
    center_file: Path,
) -> None:
    watch = CenterWatch(center_file)
    good = watch.current()
    center_file.unlink()
    assert watch.current() is good


def test_the_first_read_has_nothing_to_fall_back_on(tmp_path: Path) -> None:
    with pytest.raises(CenterError, match="file not found"):
        CenterWatch(tmp_path / "missing.yaml").current()


def test_a_folder_sees_a_new_file(tmp_path: Path, center_file: Path) -> None:
    folder = center_file.parent
    watch = CenterWatch(folder)
    assert [t.name for t in watch.current().tenants] == ["acme", "globex"]
    (folder / "zeta.yaml").write_text(
        "tenants:\n  - name: zeta\n    domain: zeta.example.com\n", encoding="utf-8"
    )
    assert [t.name for t in watch.current().tenants] == ["acme", "globex", "zeta"]


def test_a_worker_sees_the_edit_without_a_restart(center_file: Path) -> None:
    from redis import Redis
    from sqlalchemy import create_engine

    from callcenter.settings import Settings
    from workers.context import WorkerContext

    settings = Settings.model_validate({"worker": {"center": str(center_file)}})
    ctx = WorkerContext(settings, create_engine("sqlite://"), Redis())  # never connects
    first = ctx.center()
    assert first is not None and channels(first, "zadarma") == 10
    rewrite(center_file, "channels: 10", "channels: 12")
    now = ctx.center()
    assert now is not None and channels(now, "zadarma") == 12
