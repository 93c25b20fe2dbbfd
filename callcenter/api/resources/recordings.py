"""A call's recording: its metadata, and the audio itself for the browser's ``<audio>`` (with
HTTP Range requests, so the player can seek) or as a download. Same rule as the call: an agent
gets the recordings of the calls they handled only.

The workers keep each processed recording under a URI (``recordings.storage_uri``): a
``file://`` path of the storage folder is served from disk; for an ``s3://`` object the
browser is sent (307) to a URL of the bucket presigned for a few minutes, so the audio and its
Range requests go to S3 and no credentials leave the server (501, said so, when the API has no
S3 storage configured).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from aiohttp import web
from pydantic import BaseModel

from callcenter.api.context import PresignedStorage
from callcenter.api.errors import ApiError, NotFound
from callcenter.api.resources.calls import handled_by, notes_error
from callcenter.api.routing import ApiCall, RouteTable
from callcenter.calls import history
from callcenter.calls.errors import NotesError
from callcenter.calls.history import RecordingLocation, RecordingView
from callcenter.users.model import Role
from workers.recordings.errors import StorageError

__all__ = ["AudioQuery", "RecordingOut", "routes"]

routes = RouteTable("recordings")
RECORDING = "/api/v1/tenants/{tenant}/calls/{call}/recording"

PRESIGNED_SECONDS = 300  # how long the browser may use a presigned URL of S3 (seeks included)
_CONTENT_TYPES = {
    "flac": "audio/flac",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
    "mp3": "audio/mpeg",
    "wav": "audio/wav",
}


class RecordingOut(RecordingView):
    # Where the audio is played or downloaded from (add ?download=1 to save it).
    audio_url: str


class AudioQuery(BaseModel):
    # Save as a file (Content-Disposition: attachment) instead of playing in the page.
    download: bool = False


def _ids(call: ApiCall) -> tuple[str, str]:
    assert call.tenant is not None
    return call.tenant, call.param("call")


def _no_recording(call_uuid: str) -> NotFound:
    return NotFound(
        "no-recording", f"call {call_uuid!r} has no recording", {"call_uuid": call_uuid}
    )


@routes.get(
    RECORDING,
    summary="A call's recording: status, format, length, analysis",
    role=Role.AGENT,
    response=RecordingOut,
)
async def get_recording(call: ApiCall) -> RecordingOut:
    tenant, call_uuid = _ids(call)
    try:
        found = await call.ctx.db(
            history.recording,
            call.ctx.engine,
            tenant=tenant,
            call_uuid=call_uuid,
            handled_by=handled_by(call),
        )
    except NotesError as exc:
        raise notes_error(exc) from None
    if found is None:
        raise _no_recording(call_uuid)
    return RecordingOut(**found.model_dump(), audio_url=call.request.path + "/audio")


def _details(where: RecordingLocation) -> dict[str, str]:
    return {"call_uuid": where.call_uuid, "status": where.status}


def _stored_uri(where: RecordingLocation) -> str:
    """The URI a processed recording is kept under, or the reason it cannot be served."""
    if where.status != "done" or not where.storage_uri:
        if where.status == "failed":
            message = f"the recording could not be processed: {where.failure_reason or '?'}"
        else:
            message = "the recording is still being processed: try again in a minute"
        raise ApiError(404, "recording-not-ready", message, _details(where))
    return where.storage_uri


def _s3_url(where: RecordingLocation, uri: str, storage: PresignedStorage | None, suffix: str,
            download: bool) -> str:  # fmt: skip
    """A presigned URL of the recording's object, for a few minutes."""
    if storage is None:
        raise ApiError(
            501,
            "recording-in-s3",
            "this recording is kept in S3 and this server has no S3 storage configured (set "
            "[worker] storage and its S3 keys in the API's settings too): get it from the bucket",
            _details(where),
        )
    try:
        return storage.presigned_get(
            uri,
            expires_seconds=PRESIGNED_SECONDS,
            content_type=_CONTENT_TYPES.get(suffix),
            filename=_download_name(where.call_uuid, suffix) if download else None,
        )
    except StorageError as exc:
        raise ApiError(
            501, "recording-storage-unknown", f"cannot serve the recording: {exc}", _details(where)
        ) from None


def _download_name(call_uuid: str, suffix: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]", "_", f"{call_uuid}.{suffix}")


def _stored_file(where: RecordingLocation, root: Path | None) -> Path:
    """The file a processed recording is kept in, or the reason it cannot be served. With a
    storage folder known (``root``), a file outside it is never served, whatever the row says."""
    details = _details(where)
    parts = urlsplit(_stored_uri(where))
    if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
        raise ApiError(
            501,
            "recording-storage-unknown",
            f"the recording is kept where the API cannot read ({parts.scheme}://)",
            details,
        )
    path = Path(url2pathname(parts.path))
    if root is not None and root.resolve() not in path.resolve().parents:
        raise ApiError(
            403,
            "recording-outside-storage",
            f"the recording's file is not under the storage folder {root}: not served",
            details,
        )
    if not path.is_absolute() or not path.is_file():
        raise NotFound(
            "recording-file-missing",
            "the recording's file is not in the storage any more (removed by retention or by "
            "hand?): its record remains, the audio is gone",
            details,
        )
    return path


@routes.get(
    RECORDING + "/audio",
    summary="A call's recording audio (HTTP Range for seeking; ?download=1 to save)",
    role=Role.AGENT,
    query=AudioQuery,
)
async def get_audio(call: ApiCall) -> web.StreamResponse:
    tenant, call_uuid = _ids(call)
    options = call.query(AudioQuery)
    try:
        where = await call.ctx.db(
            history.recording_location,
            call.ctx.engine,
            tenant=tenant,
            call_uuid=call_uuid,
            handled_by=handled_by(call),
        )
    except NotesError as exc:
        raise notes_error(exc) from None
    if where is None:
        raise _no_recording(call_uuid)
    uri = _stored_uri(where)
    if uri.startswith("s3://"):
        suffix = (where.format or uri.rsplit(".", 1)[-1]).lower()
        url = _s3_url(where, uri, call.ctx.recording_storage, suffix, options.download)
        # Not cached: the URL stops working after a few minutes.
        return web.Response(status=307, headers={"Location": url, "Cache-Control": "no-store"})
    path = await call.ctx.db(_stored_file, where, call.ctx.recordings_root)
    suffix = (where.format or path.suffix.lstrip(".")).lower()
    headers = {
        "Content-Type": _CONTENT_TYPES.get(suffix, "application/octet-stream"),
        "Cache-Control": "private, max-age=3600",
    }
    if options.download:
        name = _download_name(call_uuid, suffix)
        headers["Content-Disposition"] = f'attachment; filename="{name}"'
    # aiohttp's file answer does the Range requests (206 + Content-Range, 416), ETag and
    # If-Range, and sends the file with sendfile.
    return web.FileResponse(path, headers=headers)
