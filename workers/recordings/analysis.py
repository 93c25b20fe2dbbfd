"""What a call recording says without listening to it: who talked how long, how much of the
call was silent, when both sides talked at once, and the long silences (holds).

The switch records stereo: left is the caller, right the agent. Voice activity is decided per
20 ms frame by energy: a frame is talk when its RMS level reaches ``threshold_dbfs`` (relative
to full scale, so a full-scale sine is -3 dBFS). Two corrections make frames look like speech
rather than like a level meter: a gap inside talk shorter than ``bridge_gap_s`` counts as talk
(pauses between words are not silence), and a burst shorter than ``min_talk_s`` does not count
(a click on the line is not talk).

A mono file carries one side only (a voicemail) or both voices mixed (FreeSWITCH with
``RECORD_STEREO=false``); the sides cannot be told apart, so all of its talk counts as the
caller's and ``talk_agent_s`` and ``overtalk_s`` are 0.

The audio is read in blocks, so an hours-long recording costs a few bytes per frame, not the
whole file in memory. Nothing here writes anything.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np
import numpy.typing as npt
import soundfile as sf

from workers.recordings.errors import RecordingError, RecordingNotReady

__all__ = ["RecordingError", "RecordingMetrics", "RecordingNotReady", "analyse", "check_wav"]

FRAME_S = 0.02
# Audio read per block: whole frames, about a minute at 8 kHz.
_FRAMES_PER_BLOCK = 3000
# A RIFF size the writer could not fill in (streaming writers); the data runs to the end.
_SIZE_UNKNOWN = 0xFFFFFFFF

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class RecordingMetrics:
    """Figures of one recording, in seconds unless said otherwise."""

    duration_s: float
    talk_caller_s: float
    talk_agent_s: float
    silence_share: float  # 0..1: share of the duration where neither side talks
    overtalk_s: float  # both sides at once
    long_holds: int  # silences of at least long_hold_seconds
    longest_silence_s: float
    channels: int
    sample_rate: int


def analyse(
    path: Path,
    *,
    long_hold_seconds: float = 10.0,
    threshold_dbfs: float = -40.0,
    bridge_gap_s: float = 0.4,
    min_talk_s: float = 0.06,
) -> RecordingMetrics:
    """Measure a WAV recording; raise ``RecordingError`` with a reason a person can act on
    (``RecordingNotReady`` when the file is missing or its header not written yet)."""
    if long_hold_seconds <= 0:
        raise ValueError("long_hold_seconds must be positive")
    check_wav(path)
    levels, lengths, channels, rate = _read_levels(path)
    samples = int(lengths.sum())
    if samples == 0:
        raise RecordingError(f"{path}: no audio (0 samples)")

    frame_len = max(1, round(rate * FRAME_S))
    bridge = int(bridge_gap_s * rate // frame_len)
    shortest = max(1, int(np.ceil(min_talk_s * rate / frame_len)))
    floor = 10.0 ** (threshold_dbfs / 10.0)  # levels are mean squares: power, not amplitude
    sides = [_speech(levels[:, ch] >= floor, bridge, shortest) for ch in range(channels)]
    caller = sides[0]
    agent = sides[1] if channels == 2 else np.zeros_like(caller)
    silent = ~(caller | agent)

    starts, ends = _runs(silent)
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    silences = (bounds[ends] - bounds[starts]) / rate

    def seconds(mask: BoolArray) -> float:
        return round(float(lengths[mask].sum()) / rate, 3)

    return RecordingMetrics(
        duration_s=round(samples / rate, 3),
        talk_caller_s=seconds(caller),
        talk_agent_s=seconds(agent),
        silence_share=round(float(lengths[silent].sum()) / samples, 4),
        overtalk_s=seconds(caller & agent),
        long_holds=int(np.count_nonzero(silences >= long_hold_seconds)),
        longest_silence_s=round(float(silences.max(initial=0.0)), 3),
        channels=channels,
        sample_rate=rate,
    )


def check_wav(path: Path) -> None:
    """Refuse what libsndfile would read without complaint but wrongly: a missing or empty
    file, something that is not a WAV, and above all a copy cut short, which it reads as a
    shorter recording."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise RecordingNotReady(
            f"{path}: file not found (the switch may not have closed it yet; check the "
            "recordings folder the switch and the workers share)"
        ) from exc
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror}") from exc
    if not path.is_file():
        raise RecordingError(f"{path}: not a regular file")
    if size == 0:
        raise RecordingError(f"{path}: empty file (0 bytes)")
    try:
        with path.open("rb") as fh:
            _check_riff(path, fh.read(12), fh, size)
    except OSError as exc:
        raise RecordingError(f"{path}: cannot read: {exc.strerror}") from exc


def _check_riff(path: Path, head: bytes, fh: BinaryIO, size: int) -> None:
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        raise RecordingError(
            f"{path}: not a WAV file (starts with {head[:12]!r}); the switch should write "
            "RIFF/WAVE recordings"
        )
    if head[:4] == b"RF64":
        return  # sizes live in the ds64 chunk; libsndfile checks those itself
    seen_fmt = False
    while True:
        chunk = fh.read(8)
        if len(chunk) < 8:
            raise RecordingError(
                f"{path}: no 'data' chunk: the header is damaged or the file was cut off "
                "before the audio"
            )
        name, declared = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if name == b"fmt ":
            seen_fmt = True
        elif name == b"data":
            if not seen_fmt:
                raise RecordingError(f"{path}: 'data' before 'fmt ': damaged WAV header")
            present = size - fh.tell()
            if declared == 0 and present > 0:
                raise RecordingNotReady(
                    f"{path}: the header declares no audio but {present} bytes follow: the "
                    "writer has not finished the file (the switch is still closing it, or crashed)"
                )
            if declared != _SIZE_UNKNOWN and declared > present:
                raise RecordingError(
                    f"{path}: truncated: the header declares {declared} bytes of audio but "
                    f"only {present} are in the file (an incomplete copy?)"
                )
            return
        fh.seek(declared + (declared & 1), 1)  # chunks are padded to an even size


def _read_levels(path: Path) -> tuple[npt.NDArray[np.float64], IntArray, int, int]:
    try:
        with sf.SoundFile(str(path)) as audio:
            channels, rate = int(audio.channels), int(audio.samplerate)
            if channels > 2:
                raise RecordingError(
                    f"{path}: {channels} channels; a call recording has 1 (mono) or 2 "
                    "(caller left, agent right)"
                )
            if audio.frames == 0:
                raise RecordingError(f"{path}: no audio (0 samples)")
            levels, lengths = _frame_levels(audio, max(1, round(rate * FRAME_S)))
    except sf.LibsndfileError as exc:
        raise RecordingError(f"{path}: unreadable WAV: {exc.error_string}") from exc
    return levels, lengths, channels, rate


def _frame_levels(audio: sf.SoundFile, frame_len: int) -> tuple[npt.NDArray[np.float64], IntArray]:
    """Mean square per frame and channel, and each frame's length in samples (the last frame
    may be short)."""
    levels: list[npt.NDArray[np.float64]] = []
    lengths: list[int] = []
    for block in audio.blocks(
        blocksize=frame_len * _FRAMES_PER_BLOCK, dtype="float32", always_2d=True
    ):
        full = len(block) // frame_len
        if full:
            frames = block[: full * frame_len].reshape(full, frame_len, block.shape[1])
            levels.append(np.mean(np.square(frames, dtype=np.float64), axis=1))
            lengths.extend([frame_len] * full)
        rest = block[full * frame_len :]
        if len(rest):
            levels.append(np.mean(np.square(rest, dtype=np.float64), axis=0, keepdims=True))
            lengths.append(len(rest))
    if not levels:
        return np.zeros((0, audio.channels)), np.zeros(0, dtype=np.int64)
    return np.concatenate(levels), np.asarray(lengths, dtype=np.int64)


def _runs(mask: BoolArray) -> tuple[IntArray, IntArray]:
    """Start and end (exclusive) frame of every run of True."""
    edges = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _speech(loud: BoolArray, bridge: int, shortest: int) -> BoolArray:
    talk = loud.copy()
    starts, ends = _runs(~loud)
    inner = (starts > 0) & (ends < len(loud)) & (ends - starts <= bridge)
    for start, end in zip(starts[inner], ends[inner], strict=True):
        talk[start:end] = True
    starts, ends = _runs(talk)
    for start, end in zip(starts, ends, strict=True):
        if end - start < shortest:
            talk[start:end] = False
    return talk
