"""The deploy folder works as written: its settings file loads, every callcenter command its
systemd units run is one the CLI accepts, and the beat it starts has a schedule."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import pytest

from callcenter.cli import _build_parser
from callcenter.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def test_the_example_settings_load() -> None:
    settings = load_settings(DEPLOY / "callcenter.toml", env={})
    assert settings.database_url.startswith("postgresql://")
    assert settings.worker.center == Path("/etc/callcenter/center.yaml")


@pytest.mark.parametrize("unit", UNITS, ids=[u.name for u in UNITS])
def test_unit_commands_are_accepted_by_the_cli(unit: Path) -> None:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.read(unit)
    service = parser["Service"]
    commands = [service[k] for k in ("ExecStartPre", "ExecStart") if k in service]
    assert commands
    for command in commands:
        argv = shlex.split(command.replace("%i", "acme"))
        if argv[0].endswith("/callcenter"):
            _build_parser().parse_args(argv[1:])  # exits (fails the test) on a bad option
        else:
            assert argv[0].endswith("/celery") and argv[1:3] == ["-A", "workers.app"]


def test_the_beat_has_the_ingest_sweeps_retention_and_webhooks() -> None:
    from workers.app import app

    app.loader.import_default_modules()  # what a worker does at start: every task module
    tasks = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert tasks == {"cc.ingest_all", "cc.retry_recordings", "cc.purge_expired", "cc.webhooks_all",
                     "cc.refresh_rollups_all"}  # fmt: skip
    assert set(app.tasks) >= tasks | {
        "cc.ingest_tenant",
        "cc.process_recording",
        "cc.score_calls",
        "cc.webhooks_tenant",
        "cc.webhook_deliver",
        "cc.refresh_rollups",
    }
