"""Encode a recording with a real encoder (libsndfile's FLAC, Opus and LAME), block by block,
and checksum the result.

FLAC is lossless: the decoded samples are the switch's samples, bit for bit. Ogg/Opus and MP3
are lossy and much smaller; Opus only runs at 8, 12, 16, 24 or 48 kHz and MP3 at the MPEG rates,
which covers what a switch records (8 or 16 kHz).
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import soundfile as sf

from workers.recordings.errors import RecordingError, StorageError

__all__ = ["FORMATS", "Encoded", "transcode"]

# Samples per read/write: about 8 s of 8 kHz audio, whatever the recording's length.
_BLOCK = 65536


@dataclass(frozen=True)
class _Codec:
    container: str
    subtype: str
    suffix: str


FORMATS: dict[str, _Codec] = {
    "flac": _Codec("FLAC", "PCM_16", ".flac"),
    "ogg": _Codec("OGG", "OPUS", ".ogg"),
    "mp3": _Codec("MP3", "MPEG_LAYER_III", ".mp3"),
}

# Sources deeper than 16 bits keep 24 in FLAC, so "lossless" stays true for them too.
_DEEP = frozenset({"PCM_24", "PCM_32", "FLOAT", "DOUBLE"})


@dataclass(frozen=True)
class Encoded:
    """An encoded recording on local disk, ready to be stored."""

    path: Path
    format: str  # flac, ogg, mp3
    size_bytes: int
    sha256: str


def transcode(src: Path, dst_dir: Path, fmt: str) -> Encoded:
    """Encode ``src`` into ``dst_dir/<src stem>.<fmt suffix>`` (replaced if there).

    Raises ``RecordingError`` when the source cannot be read or this format cannot carry it,
    ``StorageError`` when the encoded file cannot be written (a full disk: worth a retry).
    """
    codec = FORMATS.get(fmt)
    if codec is None:
        raise ValueError(f"unknown recording format {fmt!r}: use one of {', '.join(FORMATS)}")
    dst_dir.mkdir(parents=True, exist_ok=True)
    final = dst_dir / (src.stem + codec.suffix)
    partial = dst_dir / f".{final.name}.partial"
    try:
        _encode(src, partial, codec)
        os.replace(partial, final)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    with final.open("rb") as fh:
        digest = hashlib.file_digest(fh, "sha256").hexdigest()
    return Encoded(path=final, format=fmt, size_bytes=final.stat().st_size, sha256=digest)


def _encode(src: Path, dst: Path, codec: _Codec) -> None:
    try:
        source = sf.SoundFile(str(src))
    except sf.LibsndfileError as exc:
        raise RecordingError(f"{src}: unreadable audio: {exc.error_string}") from exc
    with source:
        lossless = codec.container == "FLAC"
        subtype = "PCM_24" if lossless and source.subtype in _DEEP else codec.subtype
        # Integers for FLAC so no sample goes through a float and back.
        dtype = "int32" if lossless else "float32"
        try:
            out = sf.SoundFile(
                str(dst),
                "w",
                samplerate=source.samplerate,
                channels=source.channels,
                format=codec.container,
                subtype=subtype,
            )
        except sf.LibsndfileError as exc:
            raise RecordingError(
                f"{src}: cannot encode {source.channels} channel(s) at {source.samplerate} Hz "
                f"as {codec.container}/{codec.subtype}: {exc.error_string}; choose flac"
            ) from exc
        with out:
            while True:
                try:
                    block = source.read(_BLOCK, dtype=dtype, always_2d=True)
                except sf.LibsndfileError as exc:
                    raise RecordingError(f"{src}: cannot decode: {exc.error_string}") from exc
                if not len(block):
                    break
                try:
                    out.write(block)
                except (sf.LibsndfileError, OSError) as exc:
                    raise StorageError(f"{dst}: cannot write the encoded file: {exc}") from exc
