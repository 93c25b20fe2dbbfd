"""The HTTP contract with mod_xml_curl: basic auth, POST only, a health check, a size limit,
and "not found" with 200 for whatever cannot be answered, so that FreeSWITCH never waits."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest

from callcenter.xmlcurl import NOT_FOUND, LiveConfig, XmlCurlServer
from callcenter.xmlcurl.server import MAX_REQUEST_BYTES
from tests.xmlcurl import fsrequests as fs
from tests.xmlcurl.helpers import PASSWORD, USERNAME, Endpoint, basic, is_not_found


@pytest.mark.parametrize(
    "authorization",
    [
        "",
        basic(USERNAME, "wrong"),
        basic("admin", PASSWORD),
        basic(USERNAME, PASSWORD + "x"),
        basic(USERNAME, ""),
        "Basic not-base64!",
        "Bearer " + basic(USERNAME, PASSWORD).split()[1],
    ],
    ids=["none", "wrong password", "wrong user", "longer password", "empty", "garbage", "bearer"],
)
async def test_fetches_without_the_right_credentials_are_refused(
    endpoint: Endpoint, authorization: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "callcenter.xmlcurl"):
        async with endpoint.session.post(
            endpoint.base + "/freeswitch/xml",
            data=fs.dialplan("acme", "1000"),
            headers={"Authorization": authorization} if authorization else {},
        ) as response:
            assert response.status == 401
            # curl with auth-scheme "any" first asks without credentials and needs the scheme.
            assert response.headers["WWW-Authenticate"].startswith("Basic ")
            assert "context" not in await response.text()
    assert "refused" in caplog.text


async def test_a_password_may_hold_a_colon(center_file: Path) -> None:
    # curl splits gateway-credentials at the first colon: "freeswitch:pa:ss" is pa:ss.
    server = XmlCurlServer(LiveConfig.load(center_file), "freeswitch", "pa:ss")
    await server.start("127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as session:
            endpoint = Endpoint(server, session)
            status, _ = await endpoint.post(
                fs.dialplan("acme", "1000"), basic("freeswitch", "pa:ss")
            )
            assert status == 200
            status, _ = await endpoint.post(
                fs.dialplan("acme", "1000"), basic("freeswitch:pa", "ss")
            )
            assert status == 200  # the same bytes on the wire
            status, _ = await endpoint.post(fs.dialplan("acme", "1000"), basic("freeswitch", "pa"))
            assert status == 401
    finally:
        await server.stop()


async def test_health_check_answers_without_credentials(endpoint: Endpoint) -> None:
    async with endpoint.session.get(endpoint.base + "/healthz") as response:
        assert response.status == 200
        assert await response.text() == "ok"


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/freeswitch/xml", 405),
        ("PUT", "/freeswitch/xml", 405),
        ("POST", "/healthz", 405),
        ("POST", "/freeswitch/other", 404),
    ],
)
async def test_only_post_fetches_and_a_get_health_check(
    endpoint: Endpoint, method: str, path: str, status: int
) -> None:
    async with endpoint.session.request(
        method,
        endpoint.base + path,
        data=fs.dialplan("acme", "1000"),
        headers={"Authorization": basic(USERNAME, PASSWORD)},
    ) as response:
        assert response.status == status


async def test_a_body_over_the_limit_is_413(endpoint: Endpoint) -> None:
    huge = fs.dialplan("acme", "1000") + b"&variable_blob=" + b"x" * MAX_REQUEST_BYTES
    status, _ = await endpoint.post(huge)
    assert status == 413
    # A large but sane lookup (a channel with many variables) still goes through.
    large = fs.dialplan("acme", "1000") + b"&variable_blob=" + b"x" * (MAX_REQUEST_BYTES // 4)
    status, text = await endpoint.post(large)
    assert status == 200 and not is_not_found(text)


@pytest.mark.parametrize(
    ("body", "logged"),
    [
        (b"", "no section field"),
        (b"hostname=fs1&tag_name=&key_name=&key_value=", "no section field"),
        (fs.body("phrases", "language", "name", "en"), "section 'phrases'"),
        (fs.body("chatplan", "", "", "", ("Event-Name", "REQUEST_PARAMS")), "section 'chatplan'"),
        (fs.body("dialplan", "", "", "", ("Caller-Destination-Number", "1000")), "Hunt-Context"),
        (fs.body("directory", "domain", "name", "", ("action", "sip_auth")), "domain[name="),
        (fs.body("directory", "user", "id", "1000"), "user[id=1000]"),
        (fs.body("configuration", "configuration", "name", ""), "configuration[name="),
        (fs.body("configuration", "", "", "ivr.conf"), "configuration lookup"),
        (b"section=dialplan&Caller-Destination-Number=%ZZ%C3%28&%%%=&&&", "Hunt-Context"),
        (b"\xff\xfe section \x00=dialplan", "no section field"),
    ],
    ids=[
        "empty",
        "no section",
        "phrases",
        "chatplan",
        "dialplan without context",
        "directory without domain",
        "directory by user",
        "configuration without name",
        "configuration without tag",
        "broken escapes",
        "binary",
    ],
)
async def test_malformed_requests_get_not_found_and_are_logged(
    endpoint: Endpoint, body: bytes, logged: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "callcenter.xmlcurl"):
        status, text = await endpoint.post(body)
    assert status == 200
    assert text == NOT_FOUND
    assert "malformed fetch" in caplog.text and logged in caplog.text


async def test_a_not_found_is_what_freeswitch_reads_as_use_your_files(endpoint: Endpoint) -> None:
    status, text = await endpoint.post(fs.dialplan("default", "1000"))
    assert status == 200
    assert is_not_found(text)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n')
