"""``callcenter run``, ``agent``, ``queue`` and ``demo`` as processes, on a throwaway Redis."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from callcenter.controller.runner import parse_node
from callcenter.demo import DEMO_PASSWORD

CLI = [sys.executable, "-m", "callcenter"]
REPO = Path(__file__).resolve().parents[2]


def cli(
    *args: str, timeout: float = 60, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    full = None if env is None else {**os.environ, **env}
    return subprocess.run(
        [*CLI, *args], capture_output=True, text=True, timeout=timeout, env=full, cwd=cwd
    )


def test_parse_node_addresses() -> None:
    node = parse_node("esl://:s3cret@10.0.0.5:8022#office1")
    assert (node.name, node.host, node.port, node.password) == (
        "office1",
        "10.0.0.5",
        8022,
        "s3cret",
    )
    assert parse_node("fs1", "pw").port == 8021
    assert node.conf_dir is None
    pushed = parse_node("esl://:pw@fs2?conf=/mnt/fs2/etc/freeswitch#office2")
    assert (pushed.name, pushed.conf_dir) == ("office2", Path("/mnt/fs2/etc/freeswitch"))
    with pytest.raises(ValueError, match="unknown option"):
        parse_node("esl://fs1?cnf=/etc/freeswitch")
    with pytest.raises(ValueError, match="not an ESL address"):
        parse_node("http://fs1")


def example_center(folder: Path, tenant: str) -> Path:
    """The example center's tenant acme, renamed so that its Redis keys are the test's own
    (with the rates files the center file names, relative to it)."""
    center = folder / "center.yaml"
    center.write_text((REPO / "examples" / "center.yaml").read_text().replace("acme", tenant))
    shutil.copytree(REPO / "examples" / "rates", folder / "rates")
    return center


@contextlib.contextmanager
def simulated_switch() -> Iterator[str]:
    """``callcenter sim`` as a process; yields its event socket's port."""
    sim = subprocess.Popen([*CLI, "sim", "--esl-port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = sim.stdout.readline() if sim.stdout else ""
        yield line.rsplit(":", 1)[1].strip()
    finally:
        sim.terminate()
        sim.wait(10)


def test_agent_and_queue_commands(redis_url: str, tmp_path: Path) -> None:
    center = example_center(tmp_path, "clitest")
    with simulated_switch() as port:
        run = subprocess.Popen(
            [*CLI, "run", "--center", str(center), "--tenant", "clitest",
             "--esl", f"esl://:ClueCon@127.0.0.1:{port}", "--redis", redis_url,
             "--http-port", "0"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            for _ in range(200):
                listed = cli("queue", "list", "--tenant", "clitest", "--redis", redis_url)
                if "support" in listed.stdout:
                    break
                time.sleep(0.05)
            assert "support\tlongest-idle-agent\twaiting=0" in listed.stdout
            login = cli("agent", "login", "1000", "--tenant", "clitest", "--redis", redis_url)
            assert login.stdout.strip() == "1000: on_break (login)"
            assert (
                cli(
                    "agent", "ready", "1000", "--tenant", "clitest", "--redis", redis_url
                ).stdout.strip()
                == "1000: available"
            )
            twice = cli("agent", "login", "1000", "--tenant", "clitest", "--redis", redis_url)
            assert twice.returncode == 1
            assert "cannot go on_break" in twice.stderr
            ghost = cli("agent", "ready", "ghost", "--tenant", "clitest", "--redis", redis_url)
            assert ghost.returncode == 1 and "no agent 'ghost'" in ghost.stderr
            status = cli("queue", "status", "support", "--tenant", "clitest", "--redis", redis_url)
            assert "available: 1000" in status.stdout
            assert "waiting: 0, longest 0 s" in status.stdout
            assert "offered 0, answered 0, abandoned 0, service level 100% within" in status.stdout
            unknown = cli("queue", "status", "nope", "--tenant", "clitest", "--redis", redis_url)
            assert unknown.returncode == 1 and "nope" in unknown.stderr
            assert run.poll() is None  # the controller keeps running
        finally:
            run.terminate()
            run.wait(10)


def test_sighup_reads_the_center_again_and_keeps_agents_logged_in(
    redis_url: str, tmp_path: Path
) -> None:
    center = example_center(tmp_path, "hup")
    with simulated_switch() as port:
        run = subprocess.Popen(
            [*CLI, "run", "--center", str(center), "--tenant", "hup", "--no-http",
             "--esl", f"esl://:ClueCon@127.0.0.1:{port}", "--redis", redis_url],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        log: list[str] = []
        reader = threading.Thread(target=lambda: log.extend(run.stderr or []), daemon=True)
        reader.start()

        def logged(text: str) -> bool:
            for _ in range(400):
                if any(text in line for line in list(log)):
                    return True
                time.sleep(0.05)
            return False

        def queues() -> str:
            return cli("queue", "list", "--tenant", "hup", "--redis", redis_url).stdout

        try:
            assert logged("controller_running")
            assert "support" in queues()
            for step in ("login", "ready"):
                cli("agent", step, "1000", "--tenant", "hup", "--redis", redis_url)
            sales = "      - name: sales\n"
            center.write_text(center.read_text().replace(sales, "      - name: billing\n" + sales))
            run.send_signal(signal.SIGHUP)
            assert logged("center_reloaded tenant=hup reason=requested")
            assert "billing" in queues()
            show = cli("agent", "show", "1000", "--tenant", "hup", "--redis", redis_url)
            assert "available" in show.stdout  # not logged out by the reload
            center.write_text("tenants: [\n")  # a broken file: nothing changes
            run.send_signal(signal.SIGHUP)
            assert logged("center_reload_failed tenant=hup")
            assert any("not valid YAML" in line for line in log)
            assert run.poll() is None  # the controller keeps running, on what it had
            assert "billing" in queues()
        finally:
            run.terminate()
            run.wait(10)
            reader.join(10)


def test_run_needs_a_tenant_when_the_center_has_several() -> None:
    result = cli(
        "run", "--center", str(REPO / "examples" / "center.yaml"), "--esl", "esl://127.0.0.1:1",
    )  # fmt: skip
    assert result.returncode == 1
    assert "holds several tenants (acme, globex)" in result.stderr
    assert "--tenant" in result.stderr


def test_unreachable_redis_is_reported() -> None:
    result = cli("queue", "list", "--redis", "redis://127.0.0.1:1/0")
    assert result.returncode == 1
    assert "Redis is not reachable" in result.stderr


def test_demo_runs_routes_calls_and_fills_the_database(redis_url: str, tmp_path: Path) -> None:
    database = tmp_path / "demo.db"
    scratch = tmp_path / "tmp"  # where the demo makes its run's folder
    scratch.mkdir()
    result = cli(
        "demo", "--duration", "4", "--rate", "4", "--agents", "4", "--time-scale", "0.1",
        "--seed", "7", "--redis", redis_url, "--http-port", "0", timeout=90,
        env={"CALLCENTER_DATABASE_URL": f"sqlite:///{database}",
             "CALLCENTER_WORKER__STORAGE": str(tmp_path / "storage"), "TMPDIR": str(scratch)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert list(scratch.glob("callcenter-demo-*")) == []  # the run's folder went with it
    assert "waiting=" in result.stdout and "SL=" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    answered = int(summary.split("answered=")[1].split()[0])
    offered = int(summary.split("offered=")[1].split()[0])
    assert answered > 0, result.stdout
    # Every call of the run ended and the worker wrote its record into the embedded database;
    # nothing else (the Redis holds other tests' tenants, which the demo must leave alone).
    with sqlite3.connect(database) as conn:
        assert conn.execute("SELECT DISTINCT tenant FROM calls").fetchall() == [("demo",)]
        calls = conn.execute("SELECT count(*) FROM calls WHERE ended_at IS NOT NULL").fetchone()[0]
        bridged = conn.execute("SELECT count(*) FROM calls WHERE outcome = 'answered'").fetchone()
    assert calls == offered == int(summary.split("cdr=")[1].split()[0]), result.stdout
    assert bridged[0] > 0


def test_demo_starts_its_own_redis_when_none_answers() -> None:
    # Right after the setup script no Redis service may be running: the demo still runs.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # nothing listens there once the socket is closed
    result = cli(
        "demo", "--duration", "3", "--rate", "4", "--agents", "4", "--time-scale", "0.1",
        "--seed", "3", "--redis", f"redis://127.0.0.1:{port}/0", "--no-worker", "--no-http",
        timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert f"no Redis at redis://127.0.0.1:{port}/0; started a private one" in result.stdout
    summary = result.stdout.strip().splitlines()[-1]
    assert int(summary.split("answered=")[1].split()[0]) > 0, result.stdout


def test_demo_on_a_taken_port_says_what_to_do(redis_url: str, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(
            "demo", "--duration", "3", "--rate", "4", "--agents", "2", "--time-scale", "0.1",
            "--redis", redis_url, "--no-worker", "--http-port", str(port), timeout=90,
            env={"CALLCENTER_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"},
        )  # fmt: skip
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "--http-port" in result.stderr and "Traceback" not in result.stderr


def test_run_refuses_a_bad_callback_dial_string() -> None:
    result = cli(
        "run", "--center", str(Path(__file__).resolve().parents[2] / "examples" / "center.yaml"),
        "--tenant", "acme", "--esl", "esl://127.0.0.1:1",
        "--callback-dial", "sofia/gateway/pstn",
    )  # fmt: skip
    assert result.returncode == 1
    assert "must contain {number}" in result.stderr


def test_demo_serves_the_api_and_its_users_can_sign_in(redis_url: str, tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [*CLI, "demo", "--duration", "30", "--rate", "2", "--agents", "3", "--time-scale", "0.1",
         "--seed", "5", "--redis", redis_url, "--no-worker", "--http-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "CALLCENTER_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}"},
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        url = ""
        for line in proc.stdout:
            if line.startswith("pages and API on "):
                url = line.split()[4].rstrip("/")
                break
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else ""

        async def check() -> None:
            # unsafe: the jar keeps cookies of an IP address (127.0.0.1) as browsers do.
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
                login = {"login": "agent1000", "password": DEMO_PASSWORD}
                async with http.post(f"{url}/api/v1/session", json=login) as answer:
                    assert answer.status == 200
                    assert (await answer.json())["tenants"] == ["demo"]
                async with http.get(f"{url}/api/v1/tenants/demo/queues") as answer:
                    queues = (await answer.json())["queues"]
                assert [q["name"] for q in queues] == ["support"]
                assert sum(queues[0]["agents"].values()) == 3

        asyncio.run(check())
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)
