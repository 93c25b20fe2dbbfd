"""Recordings encoded by real encoders, decoded back: FLAC sample for sample, Opus and MP3 with
their length, channels and where the voices are."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
import soundfile as sf

from tests.workers.recording_wavs import RATE, write_wav
from workers.recordings.errors import RecordingError
from workers.recordings.transcode import transcode


@pytest.fixture
def call_wav(tmp_path: Path) -> tuple[Path, npt.NDArray[np.int16]]:
    path = tmp_path / "src" / "call-1.wav"
    path.parent.mkdir()
    data = write_wav(path, 18, caller=[(0, 3)], agent=[(2, 6)])
    return path, data


def _rms(samples: npt.NDArray[np.float64]) -> float:
    return float(np.sqrt(np.mean(np.square(samples))))


def test_flac_is_lossless_sample_for_sample(
    tmp_path: Path, call_wav: tuple[Path, npt.NDArray[np.int16]]
) -> None:
    src, data = call_wav

    enc = transcode(src, tmp_path / "out", "flac")

    assert enc.path == tmp_path / "out" / "call-1.flac"
    assert enc.format == "flac"
    info = sf.info(str(enc.path))
    assert (info.format, info.subtype, info.channels, info.samplerate) == (
        "FLAC",
        "PCM_16",
        2,
        RATE,
    )
    decoded, _ = sf.read(str(enc.path), dtype="int16", always_2d=True)
    np.testing.assert_array_equal(decoded, data)
    assert enc.size_bytes < src.stat().st_size


def test_size_and_checksum_are_those_of_the_encoded_file(
    tmp_path: Path, call_wav: tuple[Path, npt.NDArray[np.int16]]
) -> None:
    enc = transcode(call_wav[0], tmp_path / "out", "flac")

    body = enc.path.read_bytes()
    assert enc.size_bytes == len(body)
    assert enc.sha256 == hashlib.sha256(body).hexdigest()
    assert sorted(p.name for p in enc.path.parent.iterdir()) == ["call-1.flac"]


@pytest.mark.parametrize(
    ("fmt", "container", "subtype", "suffix"),
    [("ogg", "OGG", "OPUS", ".ogg"), ("mp3", "MP3", "MPEG_LAYER_III", ".mp3")],
)
def test_lossy_formats_keep_length_channels_and_voices(
    tmp_path: Path,
    call_wav: tuple[Path, npt.NDArray[np.int16]],
    fmt: str,
    container: str,
    subtype: str,
    suffix: str,
) -> None:
    src, _ = call_wav

    enc = transcode(src, tmp_path / "out", fmt)

    assert enc.path.suffix == suffix
    info = sf.info(str(enc.path))
    assert (info.format, info.subtype, info.channels, info.samplerate) == (
        container,
        subtype,
        2,
        RATE,
    )
    decoded, _ = sf.read(str(enc.path), dtype="float64", always_2d=True)
    assert len(decoded) / RATE == pytest.approx(18.0, abs=0.1)
    assert enc.size_bytes < src.stat().st_size / 4

    def level(channel: int, start: float, end: float) -> float:
        return _rms(decoded[int(start * RATE) : int(end * RATE), channel])

    # Away from the edges (codec delay), each voice is where it was, silence stays silent.
    assert level(0, 0.5, 2.5) > 0.1
    assert level(1, 2.5, 5.5) > 0.1
    assert level(0, 4.0, 17.0) < 0.01
    assert level(1, 7.0, 17.0) < 0.01


def test_mono_stays_mono(tmp_path: Path) -> None:
    src = tmp_path / "vm.wav"
    data = write_wav(src, 4, caller=[(0, 2)], agent=None)
    for fmt in ("flac", "ogg", "mp3"):
        enc = transcode(src, tmp_path / fmt, fmt)
        assert sf.info(str(enc.path)).channels == 1
    decoded, _ = sf.read(str(tmp_path / "flac" / "vm.flac"), dtype="int16", always_2d=True)
    np.testing.assert_array_equal(decoded, data)


def test_a_24_bit_source_stays_24_bit_in_flac(tmp_path: Path) -> None:
    src = tmp_path / "wide.wav"
    rng = np.random.default_rng(7)
    data = rng.integers(-(2**23), 2**23, size=(RATE, 2), dtype=np.int32) * 256
    sf.write(str(src), data, 16000, subtype="PCM_24")

    enc = transcode(src, tmp_path / "out", "flac")

    assert sf.info(str(enc.path)).subtype == "PCM_24"
    decoded, _ = sf.read(str(enc.path), dtype="int32", always_2d=True)
    np.testing.assert_array_equal(decoded, data)


def test_a_rate_opus_cannot_carry_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    src = tmp_path / "cd.wav"
    write_wav(src, 1, caller=[(0, 1)], rate=44100)
    out = tmp_path / "out"

    with pytest.raises(RecordingError, match="choose flac"):
        transcode(src, out, "ogg")
    assert list(out.iterdir()) == []


def test_an_unknown_format_is_a_programming_error(tmp_path: Path) -> None:
    src = tmp_path / "a.wav"
    write_wav(src, 1, caller=[(0, 1)])
    with pytest.raises(ValueError, match="unknown recording format"):
        transcode(src, tmp_path, "wma")


def test_an_unreadable_source_is_a_recording_error(tmp_path: Path) -> None:
    src = tmp_path / "junk.wav"
    src.write_text("not audio")
    with pytest.raises(RecordingError, match="unreadable audio"):
        transcode(src, tmp_path / "out", "flac")
