"""A center file, its render, and the endpoint serving it on a real socket with a client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from callcenter.center import load_center
from callcenter.dialplan.render import render_center
from callcenter.xmlcurl import LiveConfig, XmlCurlServer
from tests.xmlcurl.helpers import PASSWORD, USERNAME, Endpoint, write_center


@pytest.fixture
def center_file(tmp_path: Path) -> Path:
    return write_center(tmp_path)


@pytest.fixture
def files(center_file: Path) -> dict[str, str]:
    """What ``callcenter dialplan push`` would write for the center."""
    return render_center(load_center(center_file))


@pytest.fixture
async def endpoint(center_file: Path) -> AsyncIterator[Endpoint]:
    server = XmlCurlServer(LiveConfig.load(center_file), USERNAME, PASSWORD)
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            yield Endpoint(server, session)
    finally:
        await server.stop()
