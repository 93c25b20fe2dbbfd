"""Recordings over HTTP: metadata, the audio from a real storage folder with Range requests
(what the browser's <audio> seeks with) and as a download, and who may have it."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from aiohttp import web
from sqlalchemy import Engine

from tests.api.conftest import Api, Client, http_site
from tests.calls.rows import T0, add_call, add_recording
from workers.recordings.s3 import S3Credentials, S3Storage
from workers.recordings.storage import LocalStorage, recording_key

AUDIO = os.urandom(4096)  # what the file holds; the API serves bytes, it does not decode them


@pytest.fixture
def stored(api: Api, db: Engine, tmp_path: Path) -> dict[str, str]:
    """Alice's (1001) call with its FLAC kept in a storage folder, and bob's (1002)."""
    storage = LocalStorage(tmp_path / "storage")
    source = tmp_path / "encoded.flac"
    source.write_bytes(AUDIO)
    out = {}
    for name, agent in (("alice", "1001"), ("bob", "1002")):
        call = add_call(db, tenant=api.acme, agent=agent)
        uri = storage.put(source, recording_key(api.acme, call, T0.date(), ".flac"))
        add_recording(
            db,
            call,
            tenant=api.acme,
            storage_uri=uri,
            format="flac",
            size_bytes=len(AUDIO),
            processed_at=T0,
        )
        out[name] = call
        out[f"{name}_uri"] = uri
    return out


def rec_path(api: Api, call: str) -> str:
    return f"/api/v1/tenants/{api.acme}/calls/{call}/recording"


async def get_bytes(
    client: Client, path: str, headers: dict[str, str] | None = None, **params: str
) -> tuple[int, dict[str, str], bytes]:
    async with client.session.get(
        client.base + path, headers=headers or {}, params=params
    ) as response:
        return response.status, dict(response.headers), await response.read()


async def test_metadata_names_where_to_play_it(
    api: Api, client: Client, stored: dict[str, str]
) -> None:
    await client.sign_in("alice")
    status, body = await client.request("GET", rec_path(api, stored["alice"]))
    assert status == 200
    assert (body["status"], body["format"], body["size_bytes"]) == ("done", "flac", len(AUDIO))
    assert body["duration_s"] == 125.0
    assert body["audio_url"] == rec_path(api, stored["alice"]) + "/audio"
    assert "storage_uri" not in body and "source_path" not in body


async def test_the_audio_whole_and_in_ranges(
    api: Api, client: Client, stored: dict[str, str]
) -> None:
    await client.sign_in("alice")
    audio = rec_path(api, stored["alice"]) + "/audio"
    status, headers, body = await get_bytes(client, audio)
    assert (status, body) == (200, AUDIO)
    assert headers["Content-Type"] == "audio/flac"
    assert headers["Accept-Ranges"] == "bytes"
    assert "Content-Disposition" not in headers
    status, headers, body = await get_bytes(client, audio, {"Range": "bytes=100-199"})
    assert (status, body) == (206, AUDIO[100:200])
    assert headers["Content-Range"] == f"bytes 100-199/{len(AUDIO)}"
    status, headers, body = await get_bytes(client, audio, {"Range": "bytes=4000-"})
    assert (status, body) == (206, AUDIO[4000:])
    status, headers, body = await get_bytes(client, audio, {"Range": "bytes=-16"})
    assert (status, body) == (206, AUDIO[-16:])
    status, headers, _ = await get_bytes(client, audio, {"Range": f"bytes={len(AUDIO) + 10}-"})
    assert status == 416
    assert headers["Content-Range"] == f"bytes */{len(AUDIO)}"


async def test_download_is_an_attachment(api: Api, client: Client, stored: dict[str, str]) -> None:
    await client.sign_in("sue")
    audio = rec_path(api, stored["bob"]) + "/audio"
    status, headers, body = await get_bytes(client, audio, download="1")
    assert (status, body) == (200, AUDIO)
    assert headers["Content-Disposition"] == f'attachment; filename="{stored["bob"]}.flac"'


async def test_an_agent_is_refused_another_agents_recording(
    api: Api, client: Client, stored: dict[str, str]
) -> None:
    await client.sign_in("alice")
    for path in (rec_path(api, stored["bob"]), rec_path(api, stored["bob"]) + "/audio"):
        status, body = await client.request("GET", path)
        assert (status, body["error_id"]) == (403, "not-your-call"), path
    await client.sign_in("gary")  # globex's agent 1001 is not acme's
    status, body = await client.request("GET", rec_path(api, stored["alice"]) + "/audio")
    assert (status, body["error_id"]) == (403, "forbidden")
    anonymous = Client(api.url)
    try:
        status, body = await anonymous.request("GET", rec_path(api, stored["alice"]) + "/audio")
        assert (status, body["error_id"]) == (401, "unauthorized")
    finally:
        await anonymous.close()


async def test_a_missing_file_is_404_with_a_reason(
    api: Api, client: Client, stored: dict[str, str]
) -> None:
    await asyncio.to_thread(LocalStorage(Path("/")).path_of(stored["alice_uri"]).unlink)
    await client.sign_in("alice")
    status, body = await client.request("GET", rec_path(api, stored["alice"]) + "/audio")
    assert (status, body["error_id"]) == (404, "recording-file-missing")
    assert "not in the storage" in body["message"]
    # The metadata is still there.
    assert (await client.request("GET", rec_path(api, stored["alice"])))[0] == 200


async def test_no_recording_unprocessed_or_kept_in_s3(api: Api, client: Client, db: Engine) -> None:
    bare = add_call(db, tenant=api.acme, agent="1001")
    pending = add_call(db, tenant=api.acme, agent="1001")
    add_recording(db, pending, tenant=api.acme, status="pending")
    failed = add_call(db, tenant=api.acme, agent="1001")
    add_recording(db, failed, tenant=api.acme, status="failed", failure_reason="not a WAV file")
    in_s3 = add_call(db, tenant=api.acme, agent="1001")
    add_recording(db, in_s3, tenant=api.acme, storage_uri=f"s3://bucket/{in_s3}.flac")
    await client.sign_in("alice")
    for call, path_end, status_want, error_id, says in (
        (bare, "", 404, "no-recording", "has no recording"),
        (bare, "/audio", 404, "no-recording", "has no recording"),
        (pending, "/audio", 404, "recording-not-ready", "still being processed"),
        (failed, "/audio", 404, "recording-not-ready", "not a WAV file"),
        (in_s3, "/audio", 501, "recording-in-s3", "no S3 storage configured"),
        ("nope", "/audio", 404, "unknown-call", "no call"),
    ):
        status, body = await client.request("GET", rec_path(api, call) + path_end)
        assert (status, body["error_id"]) == (status_want, error_id), (call, path_end)
        assert says in body["message"]


async def test_a_file_outside_the_storage_folder_is_never_served(
    api: Api, client: Client, stored: dict[str, str], tmp_path: Path
) -> None:
    api.ctx.recordings_root = tmp_path / "storage"
    await client.sign_in("alice")
    status, _, body = await get_bytes(client, rec_path(api, stored["alice"]) + "/audio")
    assert (status, body) == (200, AUDIO)
    api.ctx.recordings_root = tmp_path / "elsewhere"
    status, _, body = await get_bytes(client, rec_path(api, stored["alice"]) + "/audio")
    assert status == 403
    assert b"recording-outside-storage" in body


@pytest.fixture
async def bucket_host() -> AsyncIterator[tuple[str, list[web.Request]]]:
    """An HTTP server where the browser lands after the redirect (the bucket's endpoint): it
    keeps the requests and answers with the recording's bytes."""
    seen: list[web.Request] = []

    async def get_object(request: web.Request) -> web.Response:
        seen.append(request)
        return web.Response(body=AUDIO, content_type=request.query["response-content-type"])

    app = web.Application()
    app.router.add_get("/{tail:.*}", get_object)
    async with http_site(app) as base:
        yield base, seen


async def test_a_recording_in_s3_is_a_redirect_to_a_presigned_url(
    api: Api, client: Client, db: Engine, bucket_host: tuple[str, list[web.Request]]
) -> None:
    endpoint, seen = bucket_host
    api.ctx.recording_storage = S3Storage(
        "rec", "prod", credentials=S3Credentials("AKID", "SECRET"), endpoint=endpoint
    )
    call = add_call(db, tenant=api.acme, agent="1001")
    key = recording_key(api.acme, call, T0.date(), ".flac")
    add_recording(db, call, tenant=api.acme, storage_uri=f"s3://rec/prod/{key}", format="flac",
                  size_bytes=len(AUDIO), processed_at=T0)  # fmt: skip
    await client.sign_in("alice")
    audio = client.base + rec_path(api, call) + "/audio"
    async with client.session.get(audio, allow_redirects=False) as response:
        assert response.status == 307
        assert response.headers["Cache-Control"] == "no-store"
        location = response.headers["Location"]
    assert location.startswith(f"{endpoint}/rec/prod/{key}?")
    query = dict(parse_qsl(urlsplit(location).query))
    assert query["X-Amz-Expires"] == "300" and query["X-Amz-Signature"]
    assert query["X-Amz-Credential"].startswith("AKID/")
    assert "SECRET" not in location and "response-content-disposition" not in query
    # What the browser's <audio> does: follows it, and gets the bytes from the bucket.
    status, headers, body = await get_bytes(client, rec_path(api, call) + "/audio")
    assert (status, body, headers["Content-Type"]) == (200, AUDIO, "audio/flac")
    assert seen[-1].path == f"/rec/prod/{key}"
    assert seen[-1].query["X-Amz-Credential"].startswith("AKID/")  # signed, as presigned
    # A download names the file.
    await get_bytes(client, rec_path(api, call) + "/audio", download="1")
    assert seen[-1].query["response-content-disposition"] == f'attachment; filename="{call}.flac"'
    # bob did not handle the call: no URL for him.
    await client.sign_in("bob")
    async with client.session.get(audio, allow_redirects=False) as response:
        assert response.status == 403
    # A row naming another bucket is not signed for.
    other = add_call(db, tenant=api.acme, agent="1001")
    add_recording(db, other, tenant=api.acme, storage_uri=f"s3://elsewhere/{other}.flac")
    await client.sign_in("alice")
    status, body = await client.request("GET", rec_path(api, other) + "/audio")
    assert (status, body["error_id"]) == (501, "recording-storage-unknown")
