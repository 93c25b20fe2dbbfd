"""Stream entries folded into rows (no database)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tests.workers.streams import Entry, abandoned_call, answered_call
from workers.ingest.batch import Batch

CALL = "c0ffee00-0000-4000-8000-000000000001"


def _fold(entries: list[Entry], batch: Batch | None = None) -> Batch:
    batch = batch or Batch("acme")
    for n, entry in enumerate(entries):
        batch.add(f"{1767000000000 + n}-0", {k: str(v) for k, v in entry.items()})
    return batch


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def test_an_answered_call_becomes_one_call_two_legs_one_wait_and_its_agent_states() -> None:
    t0 = 1_767_000_000_000
    batch = _fold(answered_call(CALL, t0=t0, wait_ms=12_000, talk_ms=60_000))
    assert (len(batch.calls), len(batch.legs), len(batch.waits), len(batch.agent_states)) == (
        1, 2, 1, 4
    )  # fmt: skip
    call = batch.calls[CALL]
    assert call["queue"] == "support" and call["agent"] == "1000"
    assert call["did"] == "74951234567" and call["campaign"] == "tv-spring"
    assert call["direction"] == "inbound" and call["gateway"] == "pstn"
    assert call["caller_number"] == "79161234567" and call["caller_name"] == "Ivan"
    assert call["wait_ms"] == 15_000 and call["talk_ms"] == 60_000
    assert call["outcome"] == "answered" and call["hangup_side"] == "caller"
    assert call["started_at"] == _at(t0 - 2000) and call["bridged_at"] == _at(t0 + 15_000)
    assert call["ended_at"] == _at(t0 + 75_000)
    assert call["billsec"] == 76 and call["hangup_cause"] == "NORMAL_CLEARING"
    wait = batch.waits[(CALL, "support")]
    assert wait["outcome"] == "answered" and wait["position"] == 1
    assert wait["enqueued_at"] == _at(t0) and wait["offered_at"] == _at(t0 + 12_000)
    assert wait["wait_ms"] == 15_000 and wait["agent"] == "1000"
    roles = sorted(leg["role"] for leg in batch.legs.values())
    assert roles == ["agent", "caller"]
    assert batch.recordings == {CALL: f"/var/rec/{CALL}.wav"}
    assert batch.ended_calls == {CALL}


def test_agent_hanging_up_first_is_the_agent_side() -> None:
    batch = _fold(answered_call(CALL, caller_hung_up=False))
    assert batch.calls[CALL]["hangup_side"] == "agent"


def test_an_abandoned_call_keeps_its_wait_and_outcome() -> None:
    batch = _fold(abandoned_call(CALL))
    assert batch.calls[CALL]["outcome"] == "abandoned"
    assert batch.calls[CALL]["wait_ms"] == 40_000
    assert batch.calls[CALL]["hangup_side"] == "caller"
    assert batch.waits[(CALL, "support")]["outcome"] == "abandoned"
    assert batch.waits[(CALL, "support")]["position"] == 2


def test_overflow_starts_a_second_stay_and_the_call_ends_in_the_new_queue() -> None:
    t0 = 1_767_000_000_000
    entries: list[Entry] = [
        {"type": "call", "call": CALL, "queue": "support", "state": "waiting", "position": 3,
         "ts": t0},
        {"type": "call", "call": CALL, "queue": "support", "state": "overflowed",
         "to": "queue:sales", "ts": t0 + 60_000},
        {"type": "call", "call": CALL, "queue": "sales", "state": "waiting",
         "came_from": "support", "position": 1, "ts": t0 + 60_000},
        {"type": "call", "call": CALL, "queue": "sales", "state": "bridged", "agent": "2000",
         "ts": t0 + 70_000},
    ]  # fmt: skip
    batch = _fold(entries)
    first, second = batch.waits[(CALL, "support")], batch.waits[(CALL, "sales")]
    assert first["outcome"] == "overflowed" and first["overflow_to"] == "queue:sales"
    assert second["came_from"] == "support" and second["outcome"] == "answered"
    assert batch.calls[CALL]["queue"] == "sales" and batch.calls[CALL]["agent"] == "2000"


def test_a_caller_moved_by_a_supervisor_ends_the_stay_as_moved() -> None:
    t0 = 1_767_000_000_000
    entries: list[Entry] = [
        {"type": "call", "call": CALL, "queue": "support", "state": "waiting", "ts": t0},
        {"type": "call", "call": CALL, "queue": "support", "state": "moved",
         "to": "voicemail:1001", "by": "sam", "ts": t0 + 30_000},
    ]  # fmt: skip
    batch = _fold(entries)
    stay = batch.waits[(CALL, "support")]
    assert stay["outcome"] == "moved" and stay["overflow_to"] == "voicemail:1001"
    assert stay["left_at"] is not None
    assert batch.calls[CALL]["outcome"] == "moved"


def test_unknown_or_incomplete_entries_are_counted_as_skipped_not_fatal() -> None:
    batch = _fold(
        [
            {"type": "sms", "text": "hi"},
            {"type": "agent", "status": "available"},  # no agent
            {"type": "leg", "call": CALL},  # no leg UUID
            {"no": "type"},
        ]
    )
    assert batch.skipped == 4 and batch.rows == 0


def test_an_outbound_call_through_a_gateway_is_priced_by_the_pricer() -> None:
    seen: list[tuple[str, str, int]] = []

    def pricer(gateway: str, number: str, billsec: int) -> tuple[str, Decimal, Decimal]:
        seen.append((gateway, number, billsec))
        return "7495", Decimal("0.45"), Decimal("0.9")

    entries: list[Entry] = [
        {"type": "leg", "leg": CALL, "call": CALL, "role": "caller", "caller_number": "1001",
         "destination": "74957654321", "gateway": "sipnet", "created_ms": 1_767_000_000_000,
         "answered_ms": 1_767_000_005_000, "ended_ms": 1_767_000_125_000, "billsec": 120,
         "cause": "NORMAL_CLEARING", "disposition": "recv_bye", "bridged_to": "x"},
    ]  # fmt: skip
    batch = _fold(entries, Batch("acme", pricer))
    call = batch.calls[CALL]
    assert seen == [("sipnet", "74957654321", 120)]
    assert call["direction"] == "outbound" and call["outcome"] == "answered"
    assert call["cost"] == Decimal("0.9") and call["rate_prefix"] == "7495"


def test_times_become_utc_text_and_what_is_no_time_is_none() -> None:
    entries: list[Entry] = [
        {"type": "leg", "leg": "l1", "call": "c1", "role": "agent", "created_ms": 500,
         "answered_ms": 1_767_000_000_042, "ended_ms": "soon"},
        {"type": "leg", "leg": "l2", "call": "c2", "role": "agent", "created_ms": 0,
         "answered_ms": 253_402_300_800_000, "ended_ms": "0001767000000999"},
    ]  # fmt: skip
    legs = _fold(entries).legs
    assert legs["l1"]["created_at"] == datetime(1970, 1, 1, 0, 0, 0, 500_000, UTC)
    assert legs["l1"]["answered_at"] == _at(1_767_000_000_042)
    assert legs["l1"]["ended_at"] is None  # not a number
    assert legs["l2"]["created_at"] is None  # 0 is "never"
    assert legs["l2"]["answered_at"] is None  # past the year 9999
    assert legs["l2"]["ended_at"] == _at(1_767_000_000_999)  # the same time, zeros in front


def test_an_agent_state_without_its_time_takes_the_stream_entry_time() -> None:
    batch = Batch("acme")
    batch.add("1767000000123-4", {"type": "agent", "agent": "1000", "status": "available"})
    (row,) = batch.agent_states.values()
    assert row[-1] == b"2025-12-29 09:20:00.123+00"


def test_a_leg_reported_twice_in_one_batch_keeps_the_last_value_of_each_column() -> None:
    entries = answered_call(CALL)
    caller = entries[9]
    batch = _fold([*entries, {**caller, "hold_ms": "", "cause": "", "billsec": 99}])
    leg = batch.legs[CALL]
    assert leg["billsec"] == 99 and leg["hold_ms"] == 0 and leg["hangup_cause"] == "NORMAL_CLEARING"
    assert batch.calls[CALL]["billsec"] == 99
