"""The ``callcenter`` command as an operator runs it: separate processes over real TCP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

CLI = [sys.executable, "-m", "callcenter"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_listening(port: int, proc: subprocess.Popen[bytes]) -> None:
    for _ in range(300):
        if proc.poll() is not None:
            raise AssertionError(
                f"callcenter sim exited early: {proc.stderr and proc.stderr.read()!r}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise AssertionError("callcenter sim did not start listening")


@pytest.fixture
def sim_port(tmp_path: Path) -> Iterator[int]:
    port = _free_port()
    proc = subprocess.Popen(
        [
            *CLI,
            "sim",
            "--esl-port",
            str(port),
            "--password",
            "Pw1",
            "--time-scale",
            "1",
            "--recordings-dir",
            str(tmp_path / "rec"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_listening(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(10)


def _esl(port: int, *args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "esl", "--port", str(port), "--password", "Pw1", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_esl_runs_one_api_command(sim_port: int) -> None:
    result = _esl(sim_port, "status")
    assert result.returncode == 0, result.stderr
    assert "FreeSWITCH (Version 1.10.12" in result.stdout
    shown = _esl(sim_port, "show channels as json")
    assert shown.stdout.strip() == '{"row_count": 0}'


def test_esl_error_reply_exits_non_zero(sim_port: int) -> None:
    result = _esl(sim_port, "no_such_command")
    assert result.returncode == 1
    assert "-ERR no_such_command Command not found!" in result.stdout


def test_esl_wrong_password_says_so(sim_port: int) -> None:
    result = subprocess.run(
        [*CLI, "esl", "--port", str(sim_port), "--password", "bad", "status"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "authentication failed" in result.stderr


def test_esl_event_feed(sim_port: int) -> None:
    feed = subprocess.Popen(
        [
            *CLI,
            "esl",
            "--port",
            str(sim_port),
            "--password",
            "Pw1",
            "--events",
            "CHANNEL_CREATE",
            "--count",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        uuid = "cdcdcdcd-cdcd-4dcd-8dcd-cdcdcdcdcdcd"
        for _ in range(100):  # until the feed's subscription is in place
            _esl(sim_port, f"originate {{origination_uuid={uuid}}}null/1 &park()")
            try:
                out, err = feed.communicate(timeout=0.5)
                break
            except subprocess.TimeoutExpired:
                _esl(sim_port, f"uuid_kill {uuid}")
        else:
            raise AssertionError("no event printed")
    finally:
        feed.kill()
    assert feed.returncode == 0, err
    assert "Event-Name: CHANNEL_CREATE" in out
    assert f"Unique-ID: {uuid}" in out


def test_bad_settings_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[esl]\nport = 'x'\n")
    result = subprocess.run(
        [*CLI, "--config", str(bad), "esl", "status"],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ},
    )
    assert result.returncode == 2
    assert "esl.port" in result.stderr


def test_scripting_endpoints_from_the_shell(sim_port: int) -> None:
    assert _esl(sim_port, "sim_phone 1000@default answer 0.5").stdout == (
        "+OK 1000@default answer 0.5\n"
    )
    placed = _esl(sim_port, "sim_call 4705 4951234567 Ivan pstn 60")
    assert placed.returncode == 0, placed.stderr
    uuid = placed.stdout.split()[1]
    assert _esl(sim_port, f"uuid_exists {uuid}").stdout == "true\n"
    assert _esl(sim_port, f"sim_hangup {uuid}").stdout == "+OK\n"
