"""``reload()`` (SIGHUP in ``callcenter xmlcurl``) serves a new render, and keeps serving the
previous one when the center or a template is broken, with every problem logged."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from callcenter.xmlcurl import LiveConfig, XmlCurlServer
from tests.xmlcurl import fsrequests as fs
from tests.xmlcurl.helpers import CENTER, PASSWORD, USERNAME, Endpoint, section, write_center

NEW_DID = '      - {number: "+74951110000", destination: "queue:support", label: "Radio"}\n'


def _with_new_did() -> str:
    marker = "    dids:\n"
    return CENTER.replace(marker, marker + NEW_DID, 1)


async def _public_extensions(endpoint: Endpoint) -> list[str]:
    document = await endpoint.fetch(fs.dialplan("public", "74951110000"))
    return [e.get("name", "") for e in section(document, "dialplan").iter("extension")]


async def test_a_changed_center_is_served_after_reload(endpoint: Endpoint) -> None:
    assert "cc_did_74951110000" not in await _public_extensions(endpoint)
    write_center(endpoint.live.center.parent, _with_new_did())
    assert "cc_did_74951110000" not in await _public_extensions(endpoint)  # not before reload
    assert await endpoint.live.reload()
    assert "cc_did_74951110000" in await _public_extensions(endpoint)


@pytest.mark.parametrize(
    ("broken", "logged"),
    [
        ("tenants: [\n", "center.yaml"),
        (CENTER.replace('"ivr:main", label', '"queue:nope", label'), "no queue 'nope'"),
        (CENTER.replace('password: "globex-2000-Secret"', 'password: "x"'), "password"),
    ],
    ids=["not YAML", "unknown destination", "invalid value"],
)
async def test_a_broken_center_keeps_the_previous_render(
    endpoint: Endpoint, broken: str, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    before = await endpoint.fetch(fs.dialplan("public", "74951234567"))
    write_center(endpoint.live.center.parent, broken)
    with caplog.at_level(logging.ERROR, "callcenter.xmlcurl"):
        assert not await endpoint.live.reload()
    assert "reload failed, still serving the previous render" in caplog.text
    assert logged in caplog.text
    assert await endpoint.fetch(fs.dialplan("public", "74951234567")) == before
    # Mended: the next reload takes.
    write_center(endpoint.live.center.parent, _with_new_did())
    assert await endpoint.live.reload()
    assert "cc_did_74951110000" in await _public_extensions(endpoint)


async def test_a_broken_template_keeps_the_previous_render(
    center_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    templates = tmp_path / "templates"
    templates.mkdir()  # empty: the project's templates
    server = XmlCurlServer(LiveConfig.load(center_file, templates), USERNAME, PASSWORD)
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            endpoint = Endpoint(server, session)
            before = await endpoint.fetch(fs.dialplan("public", "74951234567"))
            (templates / "public.xml").write_text(
                "<include>{% for d in dids %}<extension name='{{ d.nope }}'>{% endfor %}",
                encoding="utf-8",
            )
            with caplog.at_level(logging.ERROR, "callcenter.xmlcurl"):
                assert not await endpoint.live.reload()
            assert "public" in caplog.text
            assert await endpoint.fetch(fs.dialplan("public", "74951234567")) == before
    finally:
        await server.stop()
