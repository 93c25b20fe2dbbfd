"""``callcenter dialplan render|diff|push`` as an operator runs them (separate processes), and
calls routed by what was pushed, on the simulated switch reading the node's conf folder."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from callcenter.center import load_center
from callcenter.dialplan.push import MANIFEST, push_node
from callcenter.dialplan.render import render_center
from callcenter.esl.client import InboundClient
from callcenter.sim import SimSwitch
from callcenter.sim.channel import Channel
from tests.conftest import REPO

EXAMPLE = REPO / "examples" / "center.yaml"
MOSCOW = ZoneInfo("Europe/Moscow")
WEDNESDAY_NOON = datetime(2026, 3, 4, 12, 0, tzinfo=MOSCOW)
# 08:30 in Moscow is 05:30 UTC: closed whatever the switch's own clock says.
WEDNESDAY_EARLY = datetime(2026, 3, 4, 8, 30, tzinfo=MOSCOW)
SUNDAY_NOON = datetime(2026, 3, 8, 12, 0, tzinfo=MOSCOW)
NEW_YEAR_NOON = datetime(2026, 1, 1, 12, 0, tzinfo=MOSCOW)  # a Thursday, and a holiday


@dataclass
class Result:
    code: int
    out: str
    err: str


async def cli(*args: str) -> Result:
    """``callcenter <args>`` in its own process; the test's loop (and its switch) keeps running."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "callcenter",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=REPO,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return Result(proc.returncode, out.decode(), err.decode())


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.02)


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[tuple[SimSwitch, Path]]:
    """A switch reading a node conf folder that is empty before the first push."""
    conf = tmp_path / "conf"
    (conf / "dialplan").mkdir(parents=True)
    switch = SimSwitch(time_scale=0.05, conf_dir=conf, recordings_dir=tmp_path / "rec")
    switch.core.clock = lambda: WEDNESDAY_NOON
    await switch.start("127.0.0.1", 0)
    try:
        yield switch, conf
    finally:
        await switch.stop()


@pytest.fixture
async def pushed(node: tuple[SimSwitch, Path]) -> SimSwitch:
    """The example center pushed to the node (without the CLI: the scenarios below)."""
    switch, conf = node
    files = render_center(load_center(EXAMPLE))
    async with InboundClient("127.0.0.1", switch.port, "ClueCon") as esl:
        result = await push_node("office1", conf, esl.api, files)
    assert result.ok, result.message
    return switch


def url(switch: SimSwitch, conf: Path, name: str = "office1") -> str:
    return f"esl://:ClueCon@127.0.0.1:{switch.port}?conf={conf}#{name}"


def read_tree(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): p.read_text() for p in folder.rglob("*.xml")}


def variables(ch: Channel) -> dict[str, str]:
    return {k: v for k, v in ch.variables.items() if k.startswith("cc_")}


def parked_in_queue(switch: SimSwitch, uuid: str) -> bool:
    ch = switch.channels.get(uuid)
    return ch is not None and ch.current_app == "park" and "cc_queue" in ch.variables


# -- render ---------------------------------------------------------------------------------------


async def test_render_writes_every_generated_file(tmp_path: Path) -> None:
    result = await cli("dialplan", "render", "--config", str(EXAMPLE), "--out", str(tmp_path))
    assert result.code == 0, result.err
    assert result.out.strip() == f"wrote 9 files to {tmp_path}"
    assert read_tree(tmp_path) == render_center(load_center(EXAMPLE))


async def test_render_stops_on_problems_and_writes_nothing(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "gateway.xml").write_text('<include><action application="anwser"/></include>\n')
    out = tmp_path / "out"
    result = await cli(
        "dialplan", "render", "--center", str(EXAMPLE), "--templates", str(mine), "--out", str(out)
    )
    assert result.code == 1
    assert "3 problem(s), nothing written" in result.err
    assert (
        "sip_profiles/external/callcenter_sipnet.xml:1: unknown dialplan application 'anwser'"
        in result.err
    )
    assert not out.exists()


async def test_a_center_file_with_errors_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "c.yaml"
    bad.write_text("tenants:\n  - {name: acme, domain: acme.example.com, dids: [{number: x}]}\n")
    result = await cli("dialplan", "render", "--config", str(bad), "--out", str(tmp_path / "o"))
    assert result.code == 1
    assert f"{bad}:2: tenants.0.dids.0" in result.err


# -- diff and push --------------------------------------------------------------------------------


async def test_push_then_a_did_call_reaches_the_ivr_and_the_queue(
    node: tuple[SimSwitch, Path],
) -> None:
    switch, conf = node
    before = await cli("dialplan", "diff", "--config", str(EXAMPLE), "--node", url(switch, conf))
    assert before.code == 0, before.err
    assert "+++ new/dialplan/acme.xml" in before.out
    assert '+  <extension name="cc_did_74997654321">' in before.out

    pushed = await cli("dialplan", "push", "--config", str(EXAMPLE), "--node", url(switch, conf))
    assert pushed.code == 0, pushed.err + pushed.out
    assert pushed.out == (
        "office1: OK (9 written, 0 removed; reloadxml +OK [Success]; "
        "gateways (re)started: globex_trunk, sipnet, zadarma)\n"
    )
    assert (conf / MANIFEST).is_file()

    after = await cli("dialplan", "diff", "--config", str(EXAMPLE), "--node", url(switch, conf))
    assert (after.code, after.out) == (0, "office1: no changes\n")

    # acme's DID on a Wednesday at noon in Moscow: the time condition sends it to the IVR.
    call = await switch.callers.dial("+74951234567", caller_number="74957770000", hangup_after=60)
    ch = switch.channels[call.uuid]
    await until(lambda: ch.current_app == "ivr")
    assert (ch.context, ch.destination) == ("acme", "cc_ivr_main")
    assert variables(ch) == {
        "cc_tenant": "acme",
        "cc_did": "+74951234567",
        "cc_did_label": "Yandex Direct, spring",
    }
    assert ch.variables["timezone"] == "Europe/Moscow"
    await call.press("2")  # support
    await until(lambda: parked_in_queue(switch, call.uuid))
    assert ch.variables["cc_queue"] == "support"

    # globex's DID, dialed without the +: straight to its support queue.
    other = await switch.callers.dial("74997654321", hangup_after=60)
    await until(lambda: parked_in_queue(switch, other.uuid))
    parked = switch.channels[other.uuid]
    assert (parked.context, parked.destination) == ("globex", "cc_queue_support")
    assert variables(parked) == {
        "cc_tenant": "globex",
        "cc_did": "+74997654321",
        "cc_did_label": "Website",
        "cc_queue": "support",
    }
    assert parked.answered


async def test_push_validates_first_and_writes_nothing_on_a_problem(
    node: tuple[SimSwitch, Path], tmp_path: Path
) -> None:
    switch, conf = node
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "public.xml").write_text("<include>\n")
    result = await cli(
        "dialplan",
        "push",
        "--config",
        str(EXAMPLE),
        "--templates",
        str(mine),
        "--node",
        url(switch, conf),
    )
    assert result.code == 1
    assert "dialplan/public/00_callcenter.xml:2: not well-formed XML" in result.err
    assert sorted(p.name for p in conf.rglob("*")) == ["dialplan"]


async def test_push_reports_each_node(node: tuple[SimSwitch, Path], tmp_path: Path) -> None:
    switch, conf = node
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    dead_conf = tmp_path / "dead"
    dead = f"esl://:ClueCon@127.0.0.1:{dead_port}?conf={dead_conf}#office2"
    result = await cli(
        "dialplan", "push", "--config", str(EXAMPLE), "--node", url(switch, conf), "--node", dead
    )
    assert result.code == 1
    lines = result.out.splitlines()
    assert lines[0].startswith("office1: OK (9 written")
    assert lines[1].startswith("office2: FAILED cannot connect")
    assert not dead_conf.exists()


async def test_nodes_need_a_conf_folder(node: tuple[SimSwitch, Path]) -> None:
    switch, _ = node
    for action in ("diff", "push"):
        result = await cli(
            "dialplan",
            action,
            "--config",
            str(EXAMPLE),
            "--node",
            f"esl://:ClueCon@127.0.0.1:{switch.port}#office1",
        )
        assert result.code == 2
        assert "office1 without ?conf=<folder>" in result.err


# -- calls on what was pushed ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("clock", "holiday"),
    [(SUNDAY_NOON, None), (WEDNESDAY_EARLY, None), (NEW_YEAR_NOON, "2026-01-01")],
)
async def test_closed_hours_and_holidays_go_to_voicemail(
    pushed: SimSwitch, clock: datetime, holiday: str | None
) -> None:
    switch = pushed
    switch.core.clock = lambda: clock
    call = await switch.callers.dial("74951234568", hangup_after=60)
    ch = switch.channels[call.uuid]
    await until(lambda: ch.current_app == "voicemail")
    assert (ch.context, ch.destination) == ("acme", "cc_voicemail_general")
    assert ch.variables["voicemail_greeting_path"] == "acme/closed.wav"
    assert ch.variables.get("cc_holiday") == holiday
    assert ch.variables["cc_did_label"] == "Metro posters"


async def test_a_busy_operator_forwards_to_the_queue(pushed: SimSwitch) -> None:
    switch = pushed
    switch.phones.register("1099", "acme.example.com", reject="USER_BUSY")
    call = await switch.callers.dial(
        "1099", context="acme", caller_number="1000", variables={"cc_user": "1000"}
    )
    await until(lambda: parked_in_queue(switch, call.uuid))
    ch = switch.channels[call.uuid]
    assert ch.destination == "cc_queue_support"
    assert ch.variables["originate_disposition"] == "USER_BUSY"


async def test_an_unregistered_operator_forwards_to_voicemail(pushed: SimSwitch) -> None:
    switch = pushed
    call = await switch.callers.dial("1099", context="acme", variables={"cc_user": "1000"})
    ch = switch.channels[call.uuid]
    await until(lambda: ch.current_app == "voicemail")
    assert ch.destination == "cc_voicemail_1099"
    assert ch.variables["originate_disposition"] == "USER_NOT_REGISTERED"


async def test_a_user_without_voicemail_who_is_busy_gives_busy(pushed: SimSwitch) -> None:
    switch = pushed
    switch.phones.register("1002", "acme.example.com", reject="USER_BUSY")
    call = await switch.callers.dial("1002", context="acme", variables={"cc_user": "1000"})
    await call.wait_hangup(10)
    assert call.hangup_cause == "USER_BUSY"


async def test_a_user_answers(pushed: SimSwitch) -> None:
    switch = pushed
    switch.phones.register("1000", "acme.example.com", answer_after=0.5)
    call = await switch.callers.dial("1000", context="acme", variables={"cc_user": "1001"})
    await call.wait_answered(10)
    ch = switch.channels[call.uuid]
    await until(lambda: ch.current_app == "bridge")
    assert ch.variables["dialed_extension"] == "1000"
