"""Comments and dispositions on real PostgreSQL (and once on SQLite, the demo's database)."""

from __future__ import annotations

import math
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from callcenter.calls import (
    MAX_COMMENT_CHARS,
    DispositionsNotUsedError,
    InvalidCommentError,
    InvalidDispositionError,
    NotesError,
    UnknownCallError,
    UnknownDispositionError,
    add_comment,
    allowed_dispositions,
    comments,
    disposition,
    set_disposition,
)
from callcenter.center import Center
from callcenter.db.models import Comment, Disposition
from tests.calls.rows import T0, add_call, add_recording, center, sqlite_engine


@pytest.fixture
def acme(tmp_path: Path) -> Center:
    return center(tmp_path)


# Comments ---------------------------------------------------------------------------------


def test_a_comment_is_linked_to_the_calls_recording(db: Engine) -> None:
    call = add_call(db)
    recording = add_recording(db, call, duration_s=125.0)
    view = add_comment(
        db, tenant="acme", call_uuid=call, author=" anna ", text="  greeting skipped  ",
        offset_s=12.5, at=T0,
    )  # fmt: skip
    assert (view.author, view.text, view.offset_s, view.recording_id) == (
        "anna",
        "greeting skipped",
        12.5,
        recording,
    )
    assert view.created_at == T0
    assert comments(db, tenant="acme", call_uuid=call) == [view]


def test_comments_come_back_oldest_first(db: Engine) -> None:
    call = add_call(db)
    later = add_comment(db, tenant="acme", call_uuid=call, author="b", text="2", at=T0)
    earlier = add_comment(
        db, tenant="acme", call_uuid=call, author="a", text="1", at=T0 - timedelta(minutes=1)
    )
    assert [c.id for c in comments(db, tenant="acme", call_uuid=call)] == [earlier.id, later.id]


def test_a_call_without_recording_takes_comments_at_any_offset(db: Engine) -> None:
    call = add_call(db)
    view = add_comment(db, tenant="acme", call_uuid=call, author="a", text="x", offset_s=9999)
    assert (view.recording_id, view.offset_s) == (None, 9999.0)
    assert view.created_at.tzinfo is not None


def test_the_offset_may_be_the_very_end_of_the_recording(db: Engine) -> None:
    call = add_call(db)
    add_recording(db, call, duration_s=30.0)
    view = add_comment(db, tenant="acme", call_uuid=call, author="a", text="x", offset_s=30)
    assert view.offset_s == 30


@pytest.mark.parametrize(
    ("tenant", "exists"),
    [("acme", False), ("globex", True)],  # another tenant's call is no call at all
)
def test_unknown_call_is_refused(db: Engine, tenant: str, exists: bool) -> None:
    call = add_call(db) if exists else "no-such-call"
    with pytest.raises(UnknownCallError, match="no call") as info:
        add_comment(db, tenant=tenant, call_uuid=call, author="a", text="x")
    assert info.value.error_id == "unknown-call"
    with pytest.raises(UnknownCallError):
        comments(db, tenant=tenant, call_uuid=call)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"text": ""}, "the comment is empty"),
        ({"text": " \n\t "}, "the comment is empty"),
        ({"text": "x" * (MAX_COMMENT_CHARS + 1)}, "at most 4000"),
        ({"author": "  "}, "author is empty"),
        ({"author": "a" * 129}, "longer than 128"),
        ({"offset_s": -0.5}, "0 or more seconds"),
        ({"offset_s": math.nan}, "0 or more seconds"),
        ({"offset_s": math.inf}, "0 or more seconds"),
        ({"offset_s": 30.5}, r"past the end of the recording \(30 s long\)"),
    ],
)
def test_bad_comments_are_refused_and_nothing_is_kept(
    db: Engine, fields: dict[str, object], message: str
) -> None:
    call = add_call(db)
    add_recording(db, call, duration_s=30.0)
    args: dict[str, object] = {"author": "anna", "text": "fine", "offset_s": None, **fields}
    with pytest.raises(InvalidCommentError, match=message) as info:
        add_comment(db, tenant="acme", call_uuid=call, **args)  # type: ignore[arg-type]
    assert isinstance(info.value, NotesError)
    assert info.value.details["field"] in ("text", "author", "offset_s")
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Comment)).scalar_one() == 0


def test_a_comment_of_the_longest_length_is_kept(db: Engine) -> None:
    call = add_call(db)
    text = "x" * MAX_COMMENT_CHARS
    assert add_comment(db, tenant="acme", call_uuid=call, author="a", text=text).text == text


# Dispositions -----------------------------------------------------------------------------


def test_a_disposition_is_set_replaced_and_set_again_unchanged(db: Engine, acme: Center) -> None:
    call = add_call(db)
    first = set_disposition(
        db, acme, tenant="acme", call_uuid=call, code="callback", set_by="1000", at=T0
    )
    assert (first.code, first.set_by, first.set_at) == ("callback", "1000", T0)
    later = T0 + timedelta(minutes=3)
    second = set_disposition(
        db, acme, tenant="acme", call_uuid=call, code="sale", set_by="1000", at=later
    )
    assert (second.code, second.set_at) == ("sale", later)
    # A retried request: the same code by the same person moves nothing, not even the time.
    again = set_disposition(
        db, acme, tenant="acme", call_uuid=call, code="sale", set_by="1000",
        at=later + timedelta(minutes=1),
    )  # fmt: skip
    assert again == second
    assert disposition(db, tenant="acme", call_uuid=call) == second
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Disposition)).scalar_one() == 1


def test_a_call_without_a_disposition_has_none(db: Engine) -> None:
    assert disposition(db, tenant="acme", call_uuid=add_call(db)) is None


def test_an_unknown_code_names_the_allowed_ones(db: Engine, acme: Center) -> None:
    call = add_call(db)
    with pytest.raises(UnknownDispositionError) as info:
        set_disposition(db, acme, tenant="acme", call_uuid=call, code="Sale", set_by="1000")
    assert str(info.value) == (
        "'Sale' is not a disposition of queue 'sales': choose one of sale, no_sale, callback"
    )
    assert info.value.details["allowed"] == ["sale", "no_sale", "callback"]
    assert info.value.error_id == "unknown-disposition"
    assert disposition(db, tenant="acme", call_uuid=call) is None


def test_a_code_of_another_queue_is_unknown(db: Engine, acme: Center) -> None:
    # "done" is globex support's code, not acme sales'.
    call = add_call(db)
    with pytest.raises(UnknownDispositionError, match="'done' is not"):
        set_disposition(db, acme, tenant="acme", call_uuid=call, code="done", set_by="1000")


@pytest.mark.parametrize(
    ("queue", "message"),
    [
        (None, "the call went through no queue"),
        ("support", "queue 'support' has no disposition codes"),
        ("gone", "queue 'gone' of tenant 'acme' is not in the center file"),
    ],
)
def test_a_call_whose_queue_has_no_codes_is_refused(
    db: Engine, acme: Center, queue: str | None, message: str
) -> None:
    call = add_call(db, queue=queue)
    with pytest.raises(DispositionsNotUsedError, match=message) as info:
        set_disposition(db, acme, tenant="acme", call_uuid=call, code="sale", set_by="1000")
    assert isinstance(info.value, InvalidDispositionError)


def test_without_a_center_file_no_code_is_known(db: Engine) -> None:
    call = add_call(db)
    with pytest.raises(DispositionsNotUsedError, match="no center file"):
        set_disposition(db, None, tenant="acme", call_uuid=call, code="sale", set_by="1000")


def test_dispositions_of_an_unknown_call_or_another_tenants(db: Engine, acme: Center) -> None:
    globex_call = add_call(db, tenant="globex", queue="support")
    with pytest.raises(UnknownCallError):
        set_disposition(db, acme, tenant="acme", call_uuid=globex_call, code="done", set_by="x")
    with pytest.raises(UnknownCallError):
        set_disposition(db, acme, tenant="acme", call_uuid="nope", code="sale", set_by="x")
    with pytest.raises(UnknownCallError):
        disposition(db, tenant="acme", call_uuid=globex_call)
    # The same call with its own tenant is fine.
    view = set_disposition(
        db, acme, tenant="globex", call_uuid=globex_call, code="done", set_by="2000"
    )
    assert view.tenant == "globex"


def test_an_empty_set_by_is_refused(db: Engine, acme: Center) -> None:
    call = add_call(db)
    with pytest.raises(InvalidDispositionError, match="set_by is empty"):
        set_disposition(db, acme, tenant="acme", call_uuid=call, code="sale", set_by=" ")


def test_allowed_dispositions_of_a_queue(acme: Center) -> None:
    codes = allowed_dispositions(acme, tenant="acme", queue="sales")
    assert codes == ["sale", "no_sale", "callback"]
    assert allowed_dispositions(acme, tenant="globex", queue="support") == ["done"]
    with pytest.raises(DispositionsNotUsedError):
        allowed_dispositions(acme, tenant="nope", queue="sales")


# The demo's database ----------------------------------------------------------------------


def test_comments_and_dispositions_on_sqlite(tmp_path: Path, acme: Center) -> None:
    engine = sqlite_engine(tmp_path)
    try:
        call = add_call(engine)
        recording = add_recording(engine, call, duration_s=60.0)
        note = add_comment(
            engine, tenant="acme", call_uuid=call, author="a", text="x", offset_s=5, at=T0
        )
        assert comments(engine, tenant="acme", call_uuid=call) == [note]
        assert note.recording_id == recording
        with pytest.raises(InvalidCommentError):
            add_comment(engine, tenant="acme", call_uuid=call, author="a", text="x", offset_s=61)
        first = set_disposition(
            engine, acme, tenant="acme", call_uuid=call, code="sale", set_by="1", at=T0
        )
        assert set_disposition(
            engine, acme, tenant="acme", call_uuid=call, code="sale", set_by="1",
            at=T0 + timedelta(hours=1),
        ) == first  # fmt: skip
        replaced = set_disposition(
            engine, acme, tenant="acme", call_uuid=call, code="no_sale", set_by="1", at=T0
        )
        assert disposition(engine, tenant="acme", call_uuid=call) == replaced
    finally:
        engine.dispose()
