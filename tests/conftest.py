"""Shared fixtures: the FreeSWITCH ground truth, a simulated switch, a throwaway Redis, a
throwaway PostgreSQL database."""

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
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.exc import OperationalError

from callcenter.acd.store import AcdStore
from callcenter.db.engine import make_engine, normalize_url
from callcenter.db.migrate import upgrade
from callcenter.db.models import Base
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


class RedisServer:
    """A redis-server of a test's own that can go away and come back on the same port.

    It keeps its data in an append-only file written on every command, so a server killed
    without warning comes back with everything it had (``wipe()`` first to bring it back empty).
    """

    def __init__(self, folder: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed: run ./scripts/setup")
        self.binary = binary
        self.folder = folder
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        assert self.proc is None, "already running"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(400):
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(64).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.025)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        """Gone at once (SIGKILL): clients see their connections drop and refused."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def wipe(self) -> None:
        """Forget every key (only while stopped)."""
        assert self.proc is None, "stop it first"
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path / "redis-own")
    server.start()
    try:
        yield server
    finally:
        server.stop()


# The PostgreSQL server the tests create their database on (trust auth on the machine).
POSTGRES_ADMIN_URL = os.environ.get(
    "CC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    """A database of the test session's own on the real PostgreSQL, migrated to head, dropped
    at the end."""
    admin = create_engine(normalize_url(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} (set CC_TEST_POSTGRES_URL): {exc}"
        )
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def db(database_url: str) -> Iterator[Engine]:
    """An engine on the session's database, every table emptied first."""
    engine = make_engine(database_url)
    with engine.begin() as conn:
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    try:
        yield engine
    finally:
        engine.dispose()
