"""Talk, silence, overtalk and holds measured on recordings whose layout is known exactly, and
every kind of bad file refused with a reason."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from callcenter.sim.recording import write_mono_wav, write_stereo_wav
from tests.workers.recording_wavs import RATE, write_wav
from workers.recordings.analysis import (
    FRAME_S,
    RecordingError,
    RecordingNotReady,
    analyse,
)

FRAME = FRAME_S  # one analysis frame: the resolution of every figure
EDGE = 2 * FRAME  # a span whose edges fall inside frames may gain a frame at each end


def test_caller_then_overlap_then_agent_then_a_long_hold(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    write_wav(path, 18, caller=[(0, 3)], agent=[(2, 6)])

    m = analyse(path)

    assert (m.channels, m.sample_rate) == (2, RATE)
    assert m.duration_s == pytest.approx(18.0)
    assert m.talk_caller_s == pytest.approx(3.0, abs=FRAME)
    assert m.talk_agent_s == pytest.approx(4.0, abs=FRAME)
    assert m.overtalk_s == pytest.approx(1.0, abs=FRAME)
    assert m.silence_share == pytest.approx(12 / 18, abs=FRAME / 18)
    assert m.long_holds == 1
    assert m.longest_silence_s == pytest.approx(12.0, abs=FRAME)


def test_edges_inside_frames_cost_at_most_a_frame_each(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    write_wav(path, 18, caller=[(0.013, 3.007)], agent=[(2.011, 6.0)])

    m = analyse(path)

    assert m.talk_caller_s == pytest.approx(2.994, abs=EDGE)
    assert m.talk_agent_s == pytest.approx(3.989, abs=EDGE)
    assert m.overtalk_s == pytest.approx(0.996, abs=EDGE)
    assert m.longest_silence_s == pytest.approx(12.0, abs=EDGE)


def test_a_pause_between_words_is_talk_but_a_longer_one_is_silence(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    # 0.2 s pause inside the caller's talk; 1 s gap before the agent answers.
    write_wav(path, 6, caller=[(0, 1), (1.2, 2)], agent=[(3, 4)])

    m = analyse(path)

    assert m.talk_caller_s == pytest.approx(2.0, abs=FRAME)
    assert m.talk_agent_s == pytest.approx(1.0, abs=FRAME)
    assert m.longest_silence_s == pytest.approx(2.0, abs=FRAME)  # 4 s to the end
    assert m.silence_share == pytest.approx(3 / 6, abs=FRAME / 6)


def test_a_click_does_not_break_a_hold(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    write_wav(path, 25, caller=[(0, 2), (10, 10.02)], agent=[(22, 25)])

    m = analyse(path)

    assert m.talk_caller_s == pytest.approx(2.0, abs=FRAME)
    assert m.long_holds == 1
    assert m.longest_silence_s == pytest.approx(20.0, abs=FRAME)


def test_holds_are_counted_against_the_limit_given(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    # Silences of 11 s (2..13) and 5 s (14..19).
    write_wav(path, 20, caller=[(0, 2), (19, 20)], agent=[(13, 14)])

    assert analyse(path).long_holds == 1
    assert analyse(path, long_hold_seconds=4.0).long_holds == 2
    assert analyse(path, long_hold_seconds=12.0).long_holds == 0


def test_line_noise_below_the_threshold_is_silence(tmp_path: Path) -> None:
    path = tmp_path / "noisy.wav"
    data = write_wav(path, 12, caller=[(0, 1)], agent=[(1, 2)])
    rng = np.random.default_rng(5)
    noise = rng.normal(0, 30, size=data.shape).astype(np.int16)  # about -60 dBFS
    sf.write(str(path), data + noise, RATE, subtype="PCM_16")

    m = analyse(path)

    assert m.talk_caller_s == pytest.approx(1.0, abs=FRAME)
    assert m.talk_agent_s == pytest.approx(1.0, abs=FRAME)
    assert m.long_holds == 1


def test_a_recording_from_the_simulated_switch(tmp_path: Path) -> None:
    path = tmp_path / "sim.wav"
    # Caller alone for 2 s, then turns of 1 s: caller, pause, caller, agent, caller, pause.
    write_stereo_wav(path, 8, bridged_from=2)

    m = analyse(path)

    assert m.duration_s == pytest.approx(8.0)
    assert m.talk_caller_s == pytest.approx(5.0, abs=FRAME)
    assert m.talk_agent_s == pytest.approx(1.0, abs=FRAME)
    assert m.overtalk_s == 0
    assert m.silence_share == pytest.approx(0.25, abs=FRAME / 8)
    assert m.longest_silence_s == pytest.approx(1.0, abs=FRAME)
    assert m.long_holds == 0


def test_a_mono_file_counts_as_the_caller(tmp_path: Path) -> None:
    path = tmp_path / "voicemail.wav"
    write_mono_wav(path, 8)  # a pause every 4th second

    m = analyse(path)

    assert m.channels == 1
    assert m.talk_caller_s == pytest.approx(6.0, abs=FRAME)
    assert (m.talk_agent_s, m.overtalk_s) == (0, 0)
    assert m.silence_share == pytest.approx(0.25, abs=FRAME / 8)


def test_a_short_last_frame_is_measured_at_its_length(tmp_path: Path) -> None:
    path = tmp_path / "call.wav"
    write_wav(path, 3.005, caller=[(0, 3.005)], agent=[])

    m = analyse(path)

    assert m.duration_s == pytest.approx(3.005)
    assert m.talk_caller_s == pytest.approx(3.005)
    assert m.silence_share == 0


# Bad files: each refused with a reason that says what is wrong.


def _good(tmp_path: Path) -> bytes:
    path = tmp_path / "good.wav"
    write_wav(path, 2, caller=[(0, 1)], agent=[(1, 2)])
    return path.read_bytes()


def test_a_missing_file_may_still_come(tmp_path: Path) -> None:
    with pytest.raises(RecordingNotReady, match="file not found"):
        analyse(tmp_path / "nope.wav")


def test_an_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    with pytest.raises(RecordingError, match="empty file") as info:
        analyse(path)
    assert not isinstance(info.value, RecordingNotReady)


def test_a_text_file_named_wav(tmp_path: Path) -> None:
    path = tmp_path / "notes.wav"
    path.write_text("call me back tomorrow\n" * 10)
    with pytest.raises(RecordingError, match="not a WAV file"):
        analyse(path)


def test_a_truncated_copy(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    data = _good(tmp_path)
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(RecordingError, match="truncated") as info:
        analyse(path)
    assert not isinstance(info.value, RecordingNotReady)


def test_a_header_cut_before_the_audio(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    path.write_bytes(_good(tmp_path)[:30])
    with pytest.raises(RecordingError, match="no 'data' chunk"):
        analyse(path)


def test_a_header_the_writer_has_not_finished_may_still_heal(tmp_path: Path) -> None:
    data = bytearray(_good(tmp_path))
    assert data[36:40] == b"data"
    data[40:44] = struct.pack("<I", 0)  # what a WAV writer puts there until it closes the file
    path = tmp_path / "open.wav"
    path.write_bytes(bytes(data))
    with pytest.raises(RecordingNotReady, match="has not finished"):
        analyse(path)


def test_a_wav_without_samples(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(str(path), np.zeros((0, 2), dtype=np.int16), RATE, subtype="PCM_16")
    with pytest.raises(RecordingError, match="no audio"):
        analyse(path)


def test_three_channels_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "three.wav"
    sf.write(str(path), np.zeros((RATE, 3), dtype=np.int16), RATE, subtype="PCM_16")
    with pytest.raises(RecordingError, match="3 channels"):
        analyse(path)


def test_a_folder_is_not_a_recording(tmp_path: Path) -> None:
    folder = tmp_path / "dir.wav"
    folder.mkdir()
    with pytest.raises(RecordingError, match="not a regular file"):
        analyse(folder)
