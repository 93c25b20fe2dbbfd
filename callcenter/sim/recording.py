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

__all__ = ["RATE", "write_stereo_wav"]

RATE = 8000
MAX_SECONDS = 3600.0  # bound the file a runaway test can produce


def write_stereo_wav(path: Path, seconds: float, bridged_from: float | None) -> int:
    """Write ``seconds`` of audio; both sides alternate after ``bridged_from`` (else left only).

    Returns the number of frames written.
    """
    seconds = max(0.0, min(seconds, MAX_SECONDS))
    frames = int(seconds * RATE)
    path.parent.mkdir(parents=True, exist_ok=True)
    left_tone = [int(8000 * math.sin(2 * math.pi * 440 * i / RATE)) for i in range(RATE)]
    right_tone = [int(8000 * math.sin(2 * math.pi * 660 * i / RATE)) for i in range(RATE)]
    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(RATE)
        second = 0
        while second * RATE < frames:
            count = min(RATE, frames - second * RATE)
            talking_bridge = bridged_from is not None and second >= bridged_from
            # Turns of 1 s: caller, agent, caller, ... once bridged; a pause every 4th second.
            turn = second % 4
            left_on = turn in (0, 2) if talking_bridge else turn != 3
            right_on = turn == 1 and talking_bridge
            buf = bytearray()
            for i in range(count):
                buf += struct.pack(
                    "<hh", left_tone[i] if left_on else 0, right_tone[i] if right_on else 0
                )
            out.writeframes(bytes(buf))
            second += 1
    return frames
