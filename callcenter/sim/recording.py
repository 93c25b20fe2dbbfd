"""Recordings the simulated switch writes: real stereo WAV files with synthetic audio.

Left channel is the recorded channel (the caller), right channel the other leg. While a leg
"talks" its side carries a tone; the sides take turns, so a post-processor sees both voices,
silence and turn-taking. Files are 8 kHz, 16-bit, like a narrowband call recording.
"""

from __future__ import annotations

import math
import struct
import wave
from pathlib import Path

__all__ = ["RATE", "write_mono_wav", "write_stereo_wav"]

RATE = 8000
MAX_SECONDS = 3600.0  # bound the file a runaway test can produce


def _second(left_on: bool, right_on: bool) -> bytes:
    """One second of interleaved stereo frames: a 440 Hz tone left, 660 Hz right, or silence."""
    buf = bytearray()
    for i in range(RATE):
        left = int(8000 * math.sin(2 * math.pi * 440 * i / RATE)) if left_on else 0
        right = int(8000 * math.sin(2 * math.pi * 660 * i / RATE)) if right_on else 0
        buf += struct.pack("<hh", left, right)
    return bytes(buf)


# The four possible seconds, built once: a recording is these blocks one after another.
_SECONDS = {
    (left, right): _second(left, right) for left in (False, True) for right in (False, True)
}

# A mono second: the left channel of a stereo one (16-bit samples at even positions).
_MONO = {on: memoryview(_SECONDS[(on, False)]).cast("h")[0::2].tobytes() for on in (False, True)}


def _existing_frames(path: Path) -> bytes:
    """The frames of a stereo WAV this module wrote before (none if it is missing or not one)."""
    try:
        with wave.open(str(path), "rb") as old:
            if (old.getnchannels(), old.getsampwidth(), old.getframerate()) != (2, 2, RATE):
                return b""
            return old.readframes(old.getnframes())
    except (FileNotFoundError, wave.Error, EOFError):
        return b""


def write_stereo_wav(
    path: Path, seconds: float, bridged_from: float | None, *, append: bool = False
) -> int:
    """Write ``seconds`` of audio; both sides alternate after ``bridged_from`` (else left only).

    ``append``: after the audio the file already holds (FreeSWITCH's ``RECORD_APPEND``: a
    recording stopped and started again goes on in the same file). Returns the number of
    frames written.
    """
    seconds = max(0.0, min(seconds, MAX_SECONDS))
    frames = int(seconds * RATE)
    path.parent.mkdir(parents=True, exist_ok=True)
    before = _existing_frames(path) if append else b""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        blocks = []
        second = 0
        while second * RATE < frames:
            count = min(RATE, frames - second * RATE)
            talking_bridge = bridged_from is not None and second >= bridged_from
            # Turns of 1 s: caller, agent, caller, ... once bridged; a pause every 4th second.
            turn = second % 4
            left_on = turn in (0, 2) if talking_bridge else turn != 3
            right_on = turn == 1 and talking_bridge
            block = _SECONDS[(left_on, right_on)]
            blocks.append(block if count == RATE else block[: count * 4])
            second += 1
        out.writeframes(before + b"".join(blocks))  # one write: the header is patched once
    return frames


def write_mono_wav(path: Path, seconds: float) -> int:
    """Write ``seconds`` of one voice (a voicemail message): a 440 Hz tone with a pause every
    4th second. Returns the number of frames written."""
    seconds = max(0.0, min(seconds, MAX_SECONDS))
    frames = int(seconds * RATE)
    path.parent.mkdir(parents=True, exist_ok=True)
    blocks = []
    second = 0
    while second * RATE < frames:
        count = min(RATE, frames - second * RATE)
        block = _MONO[second % 4 != 3]
        blocks.append(block if count == RATE else block[: count * 2])
        second += 1
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(b"".join(blocks))
    return frames
