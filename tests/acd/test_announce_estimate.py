"""Queue announcements without a switch: the wait estimate, the prompts, the queue settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from redis.asyncio import Redis

from callcenter.acd.config import AcdConfigError, load_acd_config
from callcenter.acd.model import QueueConfig
from callcenter.acd.store import AcdStore
from callcenter.controller.announcer import (
    DEFAULT_HANDLE_SECONDS,
    announcement_prompts,
    average_handle_seconds,
    broadcast_path,
    estimate_wait_minutes,
    number_prompts,
    spoken_number,
)
from callcenter.esl.errors import UnsafeValueError


@pytest.mark.parametrize(
    ("position", "handle", "agents", "minutes"),
    [
        (1, 120, 1, 2),  # the next caller, one agent, 120 s per call: 2 minutes
        (2, 120, 1, 4),
        (3, 120, 2, 3),  # 3 * 120 / 2 = 180 s
        (1, 90, 1, 2),  # 1.5 minutes rounds up
        (1, 60, 1, 1),  # exactly one minute stays one
        (1, 60.001, 1, 2),  # a millisecond over is the next minute
        (1, 10, 5, 1),  # 2 s: at least one minute
        (1, 0, 3, 1),  # no talk time at all: still at least one minute
        (100, 300, 4, 125),
    ],
)
def test_wait_estimate(position: int, handle: float, agents: int, minutes: int) -> None:
    assert estimate_wait_minutes(position, handle, agents) == minutes


def test_no_estimate_without_agents_and_no_position_zero() -> None:
    assert estimate_wait_minutes(1, 120, 0) is None
    with pytest.raises(ValueError, match="starts at 1"):
        estimate_wait_minutes(0, 120, 1)


def test_average_handle_time_of_the_queue_agents() -> None:
    assert average_handle_seconds([]) == DEFAULT_HANDLE_SECONDS
    assert average_handle_seconds([(0, 0), (0, 0)]) == DEFAULT_HANDLE_SECONDS
    assert average_handle_seconds([(0, 0)], default=30) == 30
    # Calls and talk time of all agents together: (60 + 240) s over 3 calls.
    assert average_handle_seconds([(1, 60_000), (2, 240_000), (0, 0)]) == 100


@pytest.mark.parametrize(
    ("n", "files"),
    [
        (0, ["0"]),
        (7, ["7"]),
        (20, ["20"]),
        (21, ["20", "1"]),
        (35, ["30", "5"]),
        (90, ["90"]),
        (100, ["1", "hundred"]),
        (105, ["1", "hundred", "5"]),
        (119, ["1", "hundred", "19"]),
        (342, ["3", "hundred", "40", "2"]),
        (999, ["9", "hundred", "90", "9"]),
    ],
)
def test_numbers_use_the_stock_digits(n: int, files: list[str]) -> None:
    assert number_prompts(n) == [f"digits/{f}.wav" for f in files]


def test_numbers_out_of_range() -> None:
    with pytest.raises(ValueError):
        number_prompts(1000)
    with pytest.raises(ValueError):
        number_prompts(-1)
    assert spoken_number(5000) == ["ivr/ivr-more_than.wav", *number_prompts(999)]


def test_announcement_prompts() -> None:
    assert announcement_prompts(2, 1) == [
        "ivr/ivr-you_are_number.wav",
        "digits/2.wav",
        "ivr/ivr-in_line.wav",
        "ivr/ivr-estimated_hold_time.wav",
        "digits/1.wav",
        "time/minute.wav",
    ]
    assert announcement_prompts(None, 25) == [
        "ivr/ivr-estimated_hold_time.wav",
        "digits/20.wav",
        "digits/5.wav",
        "time/minutes.wav",
    ]
    assert announcement_prompts(1, None)[-1] == "ivr/ivr-in_line.wav"
    assert announcement_prompts(None, None) == []


def test_one_broadcast_plays_the_prompts_then_the_music() -> None:
    path = broadcast_path(["ivr/ivr-you_are_number.wav", "digits/3.wav"], "local_stream://moh")
    assert path == "file_string://ivr/ivr-you_are_number.wav!digits/3.wav!local_stream://moh"
    # Music on hold that is a file_string itself is spliced in.
    assert (
        broadcast_path(["a.wav"], "file_string://b.wav!c.wav") == "file_string://a.wav!b.wav!c.wav"
    )
    with pytest.raises(UnsafeValueError):
        broadcast_path(["a.wav"], "local_stream://moh\napi hupall")
    with pytest.raises(ValueError, match="without blanks"):
        broadcast_path(["a.wav"], "local_stream://moh hupall")


# -- the queue settings ---------------------------------------------------------------------


async def test_announce_settings_are_stored_and_read_back(store: AcdStore) -> None:
    await store.put_queue(
        QueueConfig("q", announce_seconds=45, announce_position=False, announce_wait=True)
    )
    config = await store.queue_config("q")
    assert (config.announce_seconds, config.announce_position, config.announce_wait) == (
        45,
        False,
        True,
    )
    await store.put_queue(QueueConfig("r", announce_seconds=0.3, announce_wait=False))
    config = await store.queue_config("r")
    assert (config.announce_seconds, config.announce_position, config.announce_wait) == (
        0.3,
        True,
        False,
    )


async def test_a_queue_stored_before_announcements_loads_with_defaults(
    store: AcdStore, redis: Redis
) -> None:
    # The queue hash as put_queue wrote it before the announce_* fields existed.
    await redis.hset(
        store.keys.queue("old"),
        mapping={
            "strategy": "longest-idle-agent",
            "wrap_up_ms": 10000,
            "max_no_answer": 3,
            "priority_weight_ms": 60000,
            "service_level_ms": 20000,
            "max_wait_ms": 0,
            "overflow": "",
            "exit_key": "",
        },
    )
    await redis.sadd(store.keys.queues, "old")
    config = await store.queue_config("old")
    assert config == QueueConfig("old")
    assert (config.announce_seconds, config.announce_position, config.announce_wait) == (
        0.0,
        True,
        True,
    )


async def test_center_file_with_announcements(tmp_path: Path, store: AcdStore) -> None:
    path = tmp_path / "center.yaml"
    path.write_text(
        "queues:\n"
        "  - {name: support, announce_seconds: 30}\n"
        "  - {name: sales, announce_seconds: 60, announce_position: false}\n"
        "  - {name: quiet}\n"
    )
    center = load_acd_config(path)
    await center.apply(store)
    support = await store.queue_config("support")
    assert (support.announce_seconds, support.announce_position, support.announce_wait) == (
        30,
        True,
        True,
    )
    sales = await store.queue_config("sales")
    assert (sales.announce_seconds, sales.announce_position, sales.announce_wait) == (
        60,
        False,
        True,
    )
    assert (await store.queue_config("quiet")).announce_seconds == 0


@pytest.mark.parametrize(
    ("queue", "message"),
    [
        ("{name: q, announce_seconds: -1}", "queues.0.announce_seconds"),
        ("{name: q, announce_seconds: 2}", "queues.0.announce_seconds: Value error, 0 (never) or"),
        ("{name: q, announce_seconds: soon}", "queues.0.announce_seconds"),
        ("{name: q, announce_position: maybe}", "queues.0.announce_position"),
        ("{name: q, announce_wait: [1]}", "queues.0.announce_wait"),
        (
            "{name: q, announce_seconds: 30, announce_position: false, announce_wait: false}",
            "queues.0.announce_seconds: nothing to announce",
        ),
    ],
)
def test_bad_announce_settings_name_the_field(tmp_path: Path, queue: str, message: str) -> None:
    path = tmp_path / "center.yaml"
    path.write_text(f"queues: [{queue}]")
    with pytest.raises(AcdConfigError) as info:
        load_acd_config(path)
    assert message in str(info.value)
