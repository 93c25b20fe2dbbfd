"""Where processed recordings are kept: a folder, or an S3 bucket (``workers.recordings.s3``).

Every stored file is named by a URI (``file:///abs/path`` or ``s3://bucket/key``) that goes in
``recordings.storage_uri``; whoever reads or deletes it later (the API, retention) hands the URI
back to the storage the settings name, which refuses URIs outside its own folder or prefix.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import date
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol
from urllib.parse import parse_qsl, unquote, urlsplit
from urllib.request import url2pathname

from callcenter.settings import WorkerSettings
from workers.recordings.errors import StorageError, StorageNotFound

__all__ = [
    "LocalStorage",
    "RecordingStorage",
    "StorageError",
    "StorageNotFound",
    "check_key",
    "configured_storage",
    "open_storage",
    "recording_key",
]


class RecordingStorage(Protocol):
    def put(self, local_path: Path, key: str) -> str:
        """Store a copy of ``local_path`` under ``key`` (replacing what was there); return its
        URI. ``local_path`` is left in place."""
        ...

    def delete(self, uri: str) -> int:
        """Remove a stored file; return the bytes freed, 0 when it was already gone."""
        ...

    def open(self, uri: str) -> BinaryIO:
        """Read a stored file (``StorageNotFound`` when it is not there)."""
        ...


def recording_key(tenant: str, call_uuid: str, day: date, suffix: str) -> str:
    """``<tenant>/<YYYY>/<MM>/<DD>/<call_uuid><suffix>``: one folder per tenant and day, so a
    retention pass or an operator can find a day's recordings without a database."""
    for label, value in (("tenant", tenant), ("call uuid", call_uuid)):
        if not value or "/" in value or "\\" in value or value in (".", ".."):
            raise StorageError(f"{label} {value!r} cannot name a storage folder or file")
    return check_key(f"{tenant}/{day:%Y/%m/%d}/{call_uuid}{suffix}")


def check_key(key: str) -> str:
    """Refuse a key that would land outside the storage (absolute, ``..``) or is ambiguous."""
    parts = PurePosixPath(key).parts
    if (
        not key
        or key.startswith("/")
        or "\\" in key
        or "\x00" in key
        or any(part in ("", ".", "..") for part in key.split("/"))
        or not parts
    ):
        raise StorageError(f"storage key {key!r} refused: it must be a relative path without '..'")
    return key


class LocalStorage:
    """Recordings in a folder (local disk, or an NFS share every worker mounts)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.expanduser().resolve()

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.folder)!r})"

    def put(self, local_path: Path, key: str) -> str:
        dest = self.folder / check_key(key)
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            self._inside(dest.parent.resolve() / dest.name)
            # A reader (or a crash) never sees half a file: copy to a temporary name in the
            # same folder, flush it to disk, then rename over the final name in one step.
            tmp = dest.parent / f".{dest.name}.{uuid.uuid4().hex}.tmp"
            try:
                with local_path.open("rb") as src, tmp.open("wb") as out:
                    shutil.copyfileobj(src, out, 1 << 20)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, dest)
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot store {local_path} as {dest}: {exc}") from exc
        return dest.as_uri()

    def delete(self, uri: str) -> int:
        path = self.path_of(uri)
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise StorageError(f"cannot delete {path}: {exc}") from exc
        return size

    def open(self, uri: str) -> BinaryIO:
        path = self.path_of(uri)
        try:
            return path.open("rb")
        except FileNotFoundError as exc:
            raise StorageNotFound(f"{uri}: not in storage") from exc
        except OSError as exc:
            raise StorageError(f"cannot read {path}: {exc}") from exc

    def path_of(self, uri: str) -> Path:
        """The file a ``file://`` URI of this storage names."""
        parts = urlsplit(uri)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise StorageError(f"{uri!r} is not a file:// URI of this storage ({self.folder})")
        return self._inside(Path(url2pathname(parts.path)))

    def _inside(self, path: Path) -> Path:
        if not path.is_absolute() or not path.resolve().is_relative_to(self.folder):
            raise StorageError(f"{path} is outside the storage folder {self.folder}")
        return path


def configured_storage(settings: WorkerSettings) -> RecordingStorage:
    """The storage of the workers' settings, with its S3 credentials when it has any."""
    return open_storage(
        settings.storage,
        access_key=settings.s3_access_key or None,
        secret_key=settings.s3_secret_key or None,
    )


def open_storage(
    spec: str,
    *,
    access_key: str | None = None,
    secret_key: str | None = None,
    session_token: str | None = None,
) -> RecordingStorage:
    """The storage a settings value names: a folder (``var/storage``, ``file:///srv/rec``) or
    ``s3://bucket/prefix?endpoint=http://host:9000&region=us-east-1``.

    S3 credentials come from the keyword arguments, else from the spec's user part
    (``s3://ACCESS:SECRET@bucket/prefix``, the secret percent-encoded).
    """
    parts = urlsplit(spec)
    if parts.scheme == "s3":
        from workers.recordings.s3 import S3Credentials, S3Storage

        userinfo, _, bucket = parts.netloc.rpartition("@")
        key_id, _, secret = userinfo.partition(":")
        options = dict(parse_qsl(parts.query, keep_blank_values=True))
        unknown = set(options) - {"endpoint", "region"}
        if unknown:
            raise StorageError(f"S3 storage: unknown option(s) {', '.join(sorted(unknown))}")
        access = access_key or unquote(key_id)
        secret_value = secret_key or unquote(secret)
        if not bucket or not access or not secret_value:
            raise StorageError(
                "S3 storage needs a bucket and credentials: s3://ACCESS:SECRET@bucket/prefix"
                "?endpoint=...&region=..."
            )
        return S3Storage(
            bucket,
            parts.path.strip("/"),
            credentials=S3Credentials(access, secret_value, session_token),
            region=options.get("region") or "us-east-1",
            endpoint=options.get("endpoint") or None,
        )
    if parts.scheme == "file":
        return LocalStorage(Path(url2pathname(parts.path)))
    if parts.scheme and len(parts.scheme) > 1:  # one letter: a Windows drive, not a scheme
        raise StorageError(f"storage {spec!r}: use a folder path or s3://bucket/prefix")
    if not spec:
        raise StorageError("storage is empty: set [worker] storage to a folder or s3:// URL")
    return LocalStorage(Path(spec))
