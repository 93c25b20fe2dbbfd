"""Synthetic call recordings whose talk and silence layout the tests know exactly."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

__all__ = ["RATE", "Spans", "tone_track", "write_wav"]

RATE = 8000
Spans = Sequence[tuple[float, float]]


def tone_track(
    seconds: float, spans: Spans, freq: float, *, rate: int = RATE, amplitude: int = 8000
) -> npt.NDArray[np.int16]:
    """A tone during each (start, end) span, digital silence elsewhere."""
    total = round(seconds * rate)
    t = np.arange(total) / rate
    wave = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.int16)
    track = np.zeros(total, dtype=np.int16)
    for start, end in spans:
        a, b = round(start * rate), round(end * rate)
        track[a:b] = wave[a:b]
    return track


def write_wav(
    path: Path,
    seconds: float,
    caller: Spans,
    agent: Spans | None = (),
    *,
    rate: int = RATE,
    subtype: str = "PCM_16",
) -> npt.NDArray[np.int16]:
    """Caller (440 Hz) left, agent (660 Hz) right; ``agent=None`` writes a mono file. Returns
    the samples written, frames by channels."""
    left = tone_track(seconds, caller, 440, rate=rate)
    if agent is None:
        data = left.reshape(-1, 1)
    else:
        data = np.stack([left, tone_track(seconds, agent, 660, rate=rate)], axis=1)
    sf.write(str(path), data, rate, subtype=subtype, format="WAV")
    return data
