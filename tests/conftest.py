"""Shared fixtures: the FreeSWITCH ground truth, a simulated switch, a throwaway Redis."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from redis.asyncio import Redis

from callcenter.acd.store import AcdStore
from callcenter.sim import SimSwitch

REPO = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """``shared/freeswitch`` beside the checkout (or ``$CALLCENTER_SHARED_DIR``); fail loudly."""
    base = Path(os.environ.get("CALLCENTER_SHARED_DIR", REPO.parent / "shared"))
    folder = base / "freeswitch"
    if not (folder / "conformance.py").is_file():
        pytest.fail(
            f"FreeSWITCH ground truth not found at {folder}: put shared/ beside the checkout "
            "or set CALLCENTER_SHARED_DIR"
        )
    return folder


@pytest.fixture
def freeswitch_dir() -> Path:
    return shared_dir()


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[SimSwitch]:
    switch = SimSwitch(password="ClueCon", time_scale=0.05, recordings_dir=tmp_path / "rec")
    await switch.start("127.0.0.1", 0)
    try:
        yield switch
    finally:
        await switch.stop()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed: run ./scripts/setup")
    port = _free_port()
    folder: Path = tmp_path_factory.mktemp("redis")
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(200):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.1):
                    break
            except OSError:
                time.sleep(0.025)
        else:
            raise RuntimeError("redis-server did not start")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def store(redis: Redis) -> AcdStore:
    # A tenant of its own per test: tests never see each other's keys.
    return AcdStore(redis, f"t{uuid.uuid4().hex[:8]}")
