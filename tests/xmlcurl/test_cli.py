"""``callcenter xmlcurl`` as an operator runs it: its own process on a real port, the
credentials from the settings file, SIGHUP to reload, SIGTERM to stop."""

from __future__ import annotations

import asyncio
import re
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.conftest import REPO
from tests.xmlcurl import fsrequests as fs
from tests.xmlcurl.helpers import CENTER, basic, is_not_found, section, write_center

SETTINGS = '[xmlcurl]\nusername = "fs-node"\npassword = "from-the-toml"\n'
AUTH = basic("fs-node", "from-the-toml")


@dataclass
class Process:
    proc: asyncio.subprocess.Process
    stderr: list[str] = field(default_factory=list)
    url: str = ""

    async def read_until(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """Read the log (stderr) until a line matches ``pattern``."""
        assert self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        while True:
            for line in self.stderr:
                if found := re.search(pattern, line):
                    return found
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {pattern!r} in:\n{''.join(self.stderr)}"
            line = (await asyncio.wait_for(self.proc.stderr.readline(), remaining)).decode()
            assert line, f"exited ({self.proc.returncode}):\n{''.join(self.stderr)}"
            self.stderr.append(line)


async def _start(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callcenter",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Process]:
    settings = tmp_path / "callcenter.toml"
    settings.write_text(SETTINGS, encoding="utf-8")
    center = write_center(tmp_path)
    proc = await _start(
        "--config", str(settings), "xmlcurl", "--config", str(center), "--port", "0"
    )
    process = Process(proc)
    try:
        process.url = (await process.read_until(r"serving url=(\S+)")).group(1)
        yield process
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def _post(
    session: aiohttp.ClientSession, url: str, body: bytes, auth: str
) -> tuple[int, str]:
    async with session.post(url, data=body, headers={"Authorization": auth}) as response:
        return response.status, await response.text()


async def test_serves_reloads_on_sighup_and_stops_on_sigterm(
    running: Process, tmp_path: Path
) -> None:
    url = running.url
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/freeswitch/xml", url)
    async with aiohttp.ClientSession() as session:
        async with session.get(url.replace("/freeswitch/xml", "/healthz")) as response:
            assert (response.status, await response.text()) == (200, "ok")
        status, text = await _post(session, url, fs.dialplan("acme", "1000"), AUTH)
        assert status == 200
        assert section(text, "dialplan").find("context[@name='acme']") is not None
        # The settings file's credentials, not the defaults.
        status, _ = await _post(
            session, url, fs.dialplan("acme", "1000"), basic("freeswitch", "change-me")
        )
        assert status == 401

        # SIGHUP: the changed center is served.
        write_center(tmp_path, CENTER.replace('"ivr:main", label', '"queue:sales", label'))
        running.proc.send_signal(signal.SIGHUP)
        await running.read_until(r"reloaded center=")
        _, text = await _post(session, url, fs.dialplan("public", "74951234567"), AUTH)
        assert "cc_queue_sales XML acme" in text

        # SIGHUP with a broken center: the problems are logged, the last render stays.
        write_center(tmp_path, "tenants: [\n")
        running.proc.send_signal(signal.SIGHUP)
        await running.read_until(r"reload failed, still serving the previous render")
        await running.read_until(r"reload problem: .*center\.yaml")
        _, text = await _post(session, url, fs.dialplan("public", "74951234567"), AUTH)
        assert "cc_queue_sales XML acme" in text
        _, text = await _post(session, url, fs.dialplan("default", "1000"), AUTH)
        assert is_not_found(text)

    running.proc.terminate()
    assert await asyncio.wait_for(running.proc.wait(), 20) == 0


async def test_a_broken_center_is_refused_before_listening(tmp_path: Path) -> None:
    center = write_center(tmp_path, CENTER.replace('"ivr:main", label', '"ivr:nope", label'))
    proc = await _start("xmlcurl", "--config", str(center), "--port", "0")
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert "problem(s), not serving" in err.decode()
    assert "center.yaml" in err.decode() and "nope" in err.decode()
    assert b"serving url=" not in err + out


async def test_a_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    center = write_center(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = await _start("xmlcurl", "--config", str(center), "--port", str(port))
        _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in err.decode()
