"""Storage of processed recordings: the folder backend for real; the S3 backend's request
signing against the examples AWS publishes (no S3 server runs here)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from workers.recordings.s3 import (
    EMPTY_SHA256,
    S3Credentials,
    S3Storage,
    presign_url,
    sign_request,
)
from workers.recordings.storage import (
    LocalStorage,
    StorageError,
    StorageNotFound,
    check_key,
    open_storage,
    recording_key,
)


@pytest.fixture
def store(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "storage")


@pytest.fixture
def encoded(tmp_path: Path) -> Path:
    path = tmp_path / "work" / "call-1.flac"
    path.parent.mkdir()
    path.write_bytes(b"fLaC" + bytes(range(256)) * 40)
    return path


def test_key_names_tenant_day_and_call() -> None:
    key = recording_key("acme", "0b1f-42", date(2024, 3, 5), ".flac")
    assert key == "acme/2024/03/05/0b1f-42.flac"


@pytest.mark.parametrize(
    "key", ["", "/etc/passwd", "../x.flac", "a/../../x", "a//b", "a/./b", "a\\b", "a/b/", "a\0b"]
)
def test_keys_that_could_leave_the_storage_are_refused(key: str) -> None:
    with pytest.raises(StorageError, match="refused"):
        check_key(key)


@pytest.mark.parametrize(
    ("tenant", "call"), [("..", "c"), ("a/b", "c"), ("acme", "../c"), ("", "c")]
)
def test_a_tenant_or_call_that_is_not_one_name_is_refused(tenant: str, call: str) -> None:
    with pytest.raises(StorageError):
        recording_key(tenant, call, date(2024, 1, 1), ".flac")


def test_put_copies_the_file_under_its_key_and_returns_a_file_uri(
    store: LocalStorage, encoded: Path
) -> None:
    uri = store.put(encoded, "acme/2024/03/05/call-1.flac")

    stored = store.folder / "acme" / "2024" / "03" / "05" / "call-1.flac"
    assert uri == stored.as_uri()
    assert uri.startswith("file:///")
    assert stored.read_bytes() == encoded.read_bytes()
    assert encoded.exists()  # the caller's file is left to the caller
    assert os.listdir(stored.parent) == ["call-1.flac"]  # no temporary left behind


def test_put_again_replaces_the_stored_copy(store: LocalStorage, encoded: Path) -> None:
    first = store.put(encoded, "acme/k.flac")
    encoded.write_bytes(b"second version")

    assert store.put(encoded, "acme/k.flac") == first
    with store.open(first) as fh:
        assert fh.read() == b"second version"


def test_open_reads_the_stored_file(store: LocalStorage, encoded: Path) -> None:
    uri = store.put(encoded, "acme/k.flac")
    with store.open(uri) as fh:
        assert fh.read() == encoded.read_bytes()


def test_open_of_a_missing_file_says_so(store: LocalStorage) -> None:
    with pytest.raises(StorageNotFound):
        store.open((store.folder / "acme" / "gone.flac").as_uri())


def test_delete_frees_the_bytes_once_and_then_nothing(store: LocalStorage, encoded: Path) -> None:
    uri = store.put(encoded, "acme/k.flac")

    assert store.delete(uri) == encoded.stat().st_size
    assert store.delete(uri) == 0
    assert not (store.folder / "acme" / "k.flac").exists()


def test_uris_outside_the_folder_are_refused(
    store: LocalStorage, encoded: Path, tmp_path: Path
) -> None:
    with pytest.raises(StorageError, match="outside"):
        store.delete(encoded.as_uri())
    with pytest.raises(StorageError, match="outside"):
        store.open((store.folder / ".." / "work" / "call-1.flac").as_uri())
    with pytest.raises(StorageError, match="not a file://"):
        store.delete("s3://bucket/acme/k.flac")
    assert encoded.exists()


def test_a_symlink_out_of_the_folder_is_not_followed(
    store: LocalStorage, encoded: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    store.folder.mkdir(parents=True)
    (store.folder / "acme").symlink_to(outside)

    with pytest.raises(StorageError, match="outside"):
        store.put(encoded, "acme/k.flac")
    assert list(outside.iterdir()) == []


def test_open_storage_reads_a_folder_or_file_uri(tmp_path: Path) -> None:
    by_path = open_storage(str(tmp_path / "s"))
    by_uri = open_storage((tmp_path / "s").as_uri())
    assert isinstance(by_path, LocalStorage)
    assert isinstance(by_uri, LocalStorage)
    assert by_path.folder == by_uri.folder == (tmp_path / "s").resolve()


def test_open_storage_reads_an_s3_spec() -> None:
    storage = open_storage(
        "s3://AKID:se%2Fcret@recordings/center/prod?endpoint=http://minio:9000&region=eu-west-1"
    )

    assert isinstance(storage, S3Storage)
    assert (storage.bucket, storage.prefix, storage.region) == (
        "recordings",
        "center/prod",
        "eu-west-1",
    )
    assert storage.credentials == S3Credentials("AKID", "se/cret")
    assert "se/cret" not in repr(storage) and "se/cret" not in repr(storage.credentials)


def test_open_storage_takes_s3_credentials_from_arguments() -> None:
    storage = open_storage("s3://bucket", access_key="AK", secret_key="SK")
    assert isinstance(storage, S3Storage)
    assert (storage.credentials.access_key, storage.prefix, storage.region) == (
        "AK",
        "",
        "us-east-1",
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("s3://bucket/prefix", "needs a bucket and credentials"),
        ("s3://AK:SK@bucket?endpont=http://x", "unknown option"),
        ("s3://AK:SK@bucket?endpoint=ftp://x", "endpoint"),
        ("gs://bucket/x", "folder path or s3://"),
        ("", "empty"),
    ],
)
def test_open_storage_refuses_what_it_cannot_use(spec: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        open_storage(spec)


def test_s3_refuses_uris_of_another_bucket_or_prefix_before_any_request() -> None:
    storage = S3Storage("rec", "prod", credentials=S3Credentials("AK", "SK"), endpoint="http://x:1")
    for uri in ("s3://other/prod/a.flac", "s3://rec/test/a.flac", "s3://rec/prod/../a.flac"):
        with pytest.raises(StorageError):
            storage.delete(uri)


# AWS Signature Version 4, checked against the examples of AWS's S3 documentation
# ("Signature Calculations for the Authorization Header: Transferring Payload in a Single
# Chunk"), all signed with the documentation's example key pair.

AWS_EXAMPLE = S3Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
WHEN = datetime(2013, 5, 24, 0, 0, 0, tzinfo=UTC)
HOST = "examplebucket.s3.amazonaws.com"
SCOPE = "AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"


def _auth(signed_headers: str, signature: str) -> str:
    return (
        f"AWS4-HMAC-SHA256 Credential={SCOPE},SignedHeaders={signed_headers},Signature={signature}"
    )


def test_sigv4_get_object_example() -> None:
    headers = sign_request(
        method="GET",
        host=HOST,
        path="/test.txt",
        headers={"Range": "bytes=0-9"},
        payload_sha256=EMPTY_SHA256,
        credentials=AWS_EXAMPLE,
        region="us-east-1",
        when=WHEN,
    )
    assert headers["authorization"] == _auth(
        "host;range;x-amz-content-sha256;x-amz-date",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
    )
    assert headers["x-amz-date"] == "20130524T000000Z"


def test_sigv4_put_object_example_encodes_the_key() -> None:
    headers = sign_request(
        method="PUT",
        host=HOST,
        path="/test$file.text",
        headers={
            "Date": "Fri, 24 May 2013 00:00:00 GMT",
            "x-amz-storage-class": "REDUCED_REDUNDANCY",
        },
        payload_sha256="44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
        credentials=AWS_EXAMPLE,
        region="us-east-1",
        when=WHEN,
    )
    assert headers["authorization"] == _auth(
        "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
    )


@pytest.mark.parametrize(
    ("query", "signature"),
    [
        ({"lifecycle": ""}, "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543"),
        (
            {"prefix": "J", "max-keys": "2"},
            "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
        ),
    ],
)
def test_sigv4_bucket_examples_with_a_query(query: dict[str, str], signature: str) -> None:
    headers = sign_request(
        method="GET",
        host=HOST,
        path="/",
        query=query,
        headers={},
        payload_sha256=EMPTY_SHA256,
        credentials=AWS_EXAMPLE,
        region="us-east-1",
        when=WHEN,
    )
    assert headers["authorization"] == _auth("host;x-amz-content-sha256;x-amz-date", signature)


def test_sigv4_signs_a_session_token() -> None:
    temporary = S3Credentials(AWS_EXAMPLE.access_key, AWS_EXAMPLE.secret_key, "TOKEN")
    headers = sign_request(
        method="GET",
        host=HOST,
        path="/test.txt",
        headers={},
        payload_sha256=EMPTY_SHA256,
        credentials=temporary,
        region="us-east-1",
        when=WHEN,
    )
    assert headers["x-amz-security-token"] == "TOKEN"
    assert "x-amz-security-token" in headers["authorization"].split("SignedHeaders=")[1]


def test_presigned_url_example() -> None:
    # "Authenticating Requests: Using Query Parameters (AWS Signature Version 4)": a GET of
    # test.txt valid 24 h.
    url = presign_url(
        method="GET",
        scheme="https",
        host=HOST,
        path="/test.txt",
        credentials=AWS_EXAMPLE,
        region="us-east-1",
        when=WHEN,
        expires_seconds=86400,
    )
    assert url == (
        "https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    )


def test_presigned_get_signs_the_answer_headers_and_refuses_what_is_not_ours() -> None:
    storage = S3Storage("rec", "prod", credentials=S3Credentials("AK", "SK"),
                        endpoint="http://minio:9000", region="eu-west-1")  # fmt: skip
    url = storage.presigned_get(
        "s3://rec/prod/acme/a.flac", content_type="audio/flac", filename="a.flac", when=WHEN
    )
    assert url.startswith("http://minio:9000/rec/prod/acme/a.flac?")
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["response-content-type"] == "audio/flac"
    assert query["response-content-disposition"] == 'attachment; filename="a.flac"'
    assert query["X-Amz-Expires"] == "300"
    assert query["X-Amz-Credential"] == "AK/20130524/eu-west-1/s3/aws4_request"
    # The answer headers are signed: changing one breaks the signature.
    other = storage.presigned_get("s3://rec/prod/acme/a.flac", content_type="audio/ogg", when=WHEN)
    assert dict(parse_qsl(urlsplit(other).query))["X-Amz-Signature"] != query["X-Amz-Signature"]
    for uri in ("s3://other/prod/a.flac", "s3://rec/test/a.flac", "s3://rec/prod/../a.flac"):
        with pytest.raises(StorageError):
            storage.presigned_get(uri)
    with pytest.raises(StorageError, match="letters, digits"):
        storage.presigned_get("s3://rec/prod/a.flac", filename='a"; x=.flac')
    for seconds in (0, 604_801):
        with pytest.raises(StorageError, match="1 s to 7 days"):
            storage.presigned_get("s3://rec/prod/a.flac", expires_seconds=seconds)
