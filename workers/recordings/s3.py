"""Recordings in an S3 bucket (AWS, MinIO, Ceph RGW, ...) with the standard library only:
urllib for HTTP, AWS Signature Version 4 computed here.

``sign_request`` is pure (no clock, no I/O) so it can be checked against AWS's published
examples. Uploads are one PUT of the whole file (S3 accepts up to 5 GiB that way, far above an
encoded call), streamed from disk; the payload hash is computed first in a separate pass.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.client import HTTPResponse
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, urlsplit

from workers.recordings.errors import StorageError, StorageNotFound
from workers.recordings.storage import check_key

__all__ = ["S3Credentials", "S3Storage", "presign_url", "sign_request"]

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
MAX_SINGLE_PUT = 5 * 1024**3
_CONTENT_TYPES = {".flac": "audio/flac", ".ogg": "audio/ogg", ".mp3": "audio/mpeg"}
_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class S3Credentials:
    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


def _uri_encode(value: str, *, keep_slash: bool) -> str:
    # SigV4 encodes everything but the unreserved characters, and S3 encodes the path once.
    return quote(value, safe="-_.~/" if keep_slash else "-_.~")


def _canonical_query(params: Mapping[str, str]) -> str:
    """SigV4's query: names and values encoded, sorted by name (also the URL's own query)."""
    return "&".join(
        f"{_uri_encode(k, keep_slash=False)}={_uri_encode(v, keep_slash=False)}"
        for k, v in sorted(params.items())
    )


def sign_request(
    *,
    method: str,
    host: str,
    path: str,
    headers: Mapping[str, str],
    payload_sha256: str,
    credentials: S3Credentials,
    region: str,
    when: datetime,
    query: Mapping[str, str] | None = None,
    service: str = "s3",
) -> dict[str, str]:
    """Sign a request with AWS Signature Version 4; return every header to send, the
    ``Authorization`` one included. ``path`` is the object path before encoding."""
    amz_date, scope = _date_and_scope(when, region, service)
    signed: dict[str, str] = {k.lower(): _SPACES.sub(" ", v.strip()) for k, v in headers.items()}
    signed["host"] = host
    signed["x-amz-date"] = amz_date
    signed["x-amz-content-sha256"] = payload_sha256
    if credentials.session_token:
        signed["x-amz-security-token"] = credentials.session_token
    names = sorted(signed)
    canonical = [
        method.upper(),
        _uri_encode(path, keep_slash=True) or "/",
        _canonical_query(query or {}),
        "".join(f"{name}:{signed[name]}\n" for name in names),
        ";".join(names),
        payload_sha256,
    ]
    signature = _signature(credentials, amz_date, scope, region, service, canonical)
    signed["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope},"
        f"SignedHeaders={';'.join(names)},Signature={signature}"
    )
    return signed


def _date_and_scope(when: datetime, region: str, service: str) -> tuple[str, str]:
    amz_date = when.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    return amz_date, f"{amz_date[:8]}/{region}/{service}/aws4_request"


def _signature(
    credentials: S3Credentials,
    amz_date: str,
    scope: str,
    region: str,
    service: str,
    canonical: list[str],
) -> str:
    """The signature of a canonical request (its lines)."""
    digest = hashlib.sha256("\n".join(canonical).encode()).hexdigest()
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, digest])
    key = ("AWS4" + credentials.secret_key).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def presign_url(
    *,
    method: str,
    scheme: str,
    host: str,
    path: str,
    credentials: S3Credentials,
    region: str,
    when: datetime,
    expires_seconds: int,
    query: Mapping[str, str] | None = None,
    service: str = "s3",
) -> str:
    """A URL that does ``method`` on ``path`` without any header for ``expires_seconds`` from
    ``when`` (AWS Signature Version 4 in the query string, the payload unsigned): what a
    browser is sent to for an object. ``query``: more parameters, signed too
    (``response-content-disposition``...)."""
    if not 1 <= expires_seconds <= 604_800:
        raise StorageError(f"a presigned URL lives 1 s to 7 days, not {expires_seconds} s")
    amz_date, scope = _date_and_scope(when, region, service)
    params = dict(query or {})
    params.update({
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{credentials.access_key}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires_seconds),
        "X-Amz-SignedHeaders": "host",
    })  # fmt: skip
    if credentials.session_token:
        params["X-Amz-Security-Token"] = credentials.session_token
    canonical_query = _canonical_query(params)
    encoded_path = _uri_encode(path, keep_slash=True) or "/"
    canonical = [
        method.upper(),
        encoded_path,
        canonical_query,
        f"host:{host}\n",
        "host",
        "UNSIGNED-PAYLOAD",
    ]
    signature = _signature(credentials, amz_date, scope, region, service, canonical)
    return f"{scheme}://{host}{encoded_path}?{canonical_query}&X-Amz-Signature={signature}"


class S3Storage:
    """Objects under ``prefix`` in ``bucket``. With an ``endpoint`` (MinIO and the like) the
    bucket goes in the path; without, AWS's virtual-hosted ``bucket.s3.region.amazonaws.com``.
    """

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        credentials: S3Credentials,
        region: str = "us-east-1",
        endpoint: str | None = None,
        timeout: float = 60.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.credentials = credentials
        self.region = region
        self.timeout = timeout
        if endpoint:
            parts = urlsplit(endpoint)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise StorageError(f"S3 endpoint {endpoint!r}: use http://host:port or https://")
            self._scheme, self._host, self._base = parts.scheme, parts.netloc, f"/{bucket}"
        else:
            self._scheme, self._host = "https", f"{bucket}.s3.{region}.amazonaws.com"
            self._base = ""

    def __repr__(self) -> str:
        return f"S3Storage(s3://{self.bucket}/{self.prefix}, host={self._host})"

    def put(self, local_path: Path, key: str) -> str:
        name = check_key(key)
        object_key = f"{self.prefix}/{name}" if self.prefix else name
        try:
            size = local_path.stat().st_size
            if size > MAX_SINGLE_PUT:
                raise StorageError(f"{local_path}: {size} bytes, above S3's single PUT limit")
            with local_path.open("rb") as fh:
                digest = hashlib.file_digest(fh, "sha256").hexdigest()
                fh.seek(0)
                content_type = _CONTENT_TYPES.get(local_path.suffix, "application/octet-stream")
                headers = {"content-length": str(size), "content-type": content_type}
                self._send("PUT", object_key, headers, digest, body=fh).close()
        except OSError as exc:
            raise StorageError(f"cannot upload {local_path}: {exc}") from exc
        return f"s3://{self.bucket}/{object_key}"

    def delete(self, uri: str) -> int:
        object_key = self._object_key(uri)
        # S3 says nothing of the size it frees, and deleting a missing object succeeds.
        try:
            with self._send("HEAD", object_key, {}, EMPTY_SHA256) as head:
                size = int(head.headers.get("Content-Length", "0"))
        except StorageNotFound:
            return 0
        self._send("DELETE", object_key, {}, EMPTY_SHA256).close()
        return size

    def open(self, uri: str) -> BinaryIO:
        return self._send("GET", self._object_key(uri), {}, EMPTY_SHA256)

    def presigned_get(
        self,
        uri: str,
        *,
        expires_seconds: int = 300,
        content_type: str | None = None,
        filename: str | None = None,
        when: datetime | None = None,
    ) -> str:
        """A URL a browser gets the object with, for ``expires_seconds``: no credentials leave
        the server. ``filename``: saved as that file (Content-Disposition: attachment)."""
        query: dict[str, str] = {}
        if content_type:
            query["response-content-type"] = content_type
        if filename:
            if not re.fullmatch(r"[A-Za-z0-9._-]{1,200}", filename):
                raise StorageError(f"download name {filename!r}: letters, digits, . _ - only")
            query["response-content-disposition"] = f'attachment; filename="{filename}"'
        return presign_url(
            method="GET",
            scheme=self._scheme,
            host=self._host,
            path=f"{self._base}/{self._object_key(uri)}",
            credentials=self.credentials,
            region=self.region,
            when=when or datetime.now(UTC),
            expires_seconds=expires_seconds,
            query=query,
        )

    def _object_key(self, uri: str) -> str:
        parts = urlsplit(uri)
        object_key = parts.path.lstrip("/")
        inside = not self.prefix or object_key.startswith(self.prefix + "/")
        if parts.scheme != "s3" or parts.netloc != self.bucket or not inside:
            raise StorageError(f"{uri!r} is not in this storage (s3://{self.bucket}/{self.prefix})")
        check_key(object_key)
        return object_key

    def _send(
        self,
        method: str,
        object_key: str,
        headers: Mapping[str, str],
        payload_sha256: str,
        *,
        body: BinaryIO | None = None,
    ) -> HTTPResponse:
        path = f"{self._base}/{object_key}"
        signed = sign_request(
            method=method,
            host=self._host,
            path=path,
            headers=headers,
            payload_sha256=payload_sha256,
            credentials=self.credentials,
            region=self.region,
            when=datetime.now(UTC),
        )
        url = f"{self._scheme}://{self._host}{_uri_encode(path, keep_slash=True)}"
        request = urllib.request.Request(url, data=body, method=method, headers=signed)
        where = f"s3://{self.bucket}/{object_key}"
        try:
            response: HTTPResponse = urllib.request.urlopen(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            detail = exc.read(2048).decode("utf-8", "replace") if method != "HEAD" else ""
            exc.close()
            if exc.code == 404:
                raise StorageNotFound(f"{where}: not in storage") from exc
            raise StorageError(f"{method} {where}: HTTP {exc.code} {detail}".strip()) from exc
        except (urllib.error.URLError, OSError) as exc:
            raise StorageError(f"{method} {where}: {exc}") from exc
        return response
