"""``ivr <menu>``: ivr.conf menus from the configuration folder, driven by a caller's digits."""

from __future__ import annotations

from collections.abc import Awaitable

from callcenter.esl.client import InboundClient
from callcenter.esl.events import Event
from callcenter.sim import Caller, SimSwitch

DID = "74951110000"
WELCOME, SHORT = "acme/welcome.wav", "acme/menu.wav"
INVALID = "ivr/ivr-that_was_an_invalid_entry.wav"
GOODBYE = "voicemail/vm-goodbye.wav"
SUB, DEEP = "acme/sub.wav", "acme/deep.wav"


def prompt(esl: InboundClient, path: str) -> Awaitable[Event]:
    """The next PLAYBACK_START of ``path`` (register before what causes it)."""
    return esl.wait_for_event(
        "PLAYBACK_START", predicate=lambda e: e.get("Playback-File-Path") == path, timeout=10
    )


def record(esl: InboundClient, uuid: str) -> list[Event]:
    seen: list[Event] = []
    esl.on_channel(uuid, seen.append)
    return seen


def played(events: list[Event]) -> list[str]:
    return [e.get("Playback-File-Path") or "" for e in events if e.name == "PLAYBACK_START"]


async def call_in(node: SimSwitch, esl: InboundClient) -> tuple[Caller, list[Event]]:
    """A call to acme's DID in office hours, once the menu's long greeting plays."""
    greeting = prompt(esl, WELCOME)
    call = await node.callers.dial(DID, caller_number="4951234567")
    events = record(esl, call.uuid)
    await greeting
    return call, events


def hangup_complete(esl: InboundClient, call: Caller) -> Awaitable[Event]:
    return esl.wait_for_event("CHANNEL_HANGUP_COMPLETE", uuid=call.uuid, timeout=10)


async def press_at(esl: InboundClient, call: Caller, digits: str, next_prompt: str) -> None:
    """Press digits, then wait for the prompt they lead to."""
    heard = prompt(esl, next_prompt)
    await call.press(digits)
    await heard


async def test_a_digit_transfers_into_the_queue_extension(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    call, events = await call_in(node, node_esl)
    parked = node_esl.wait_for_event("CHANNEL_PARK", uuid=call.uuid, timeout=10)
    await call.press("1")
    await parked
    assert await node_esl.api(f"uuid_getvar {call.uuid} queue") == "support"
    names = [(e.name, e.get("Application"), e.get("Event-Subclass")) for e in events]
    execute = names.index(("CHANNEL_EXECUTE", "ivr", None))
    transfers = [
        (i, e.get("Application-Data"))
        for i, e in enumerate(events)
        if e.name == "CHANNEL_EXECUTE" and e.get("Application") == "transfer"
    ]
    # The DID's transfer into acme's context, then the menu's (menu-exec-app).
    assert [data for _, data in transfers] == ["main XML acme", "5000 XML acme"]
    assert transfers[1][0] > execute
    assert names.index(("CHANNEL_EXECUTE_COMPLETE", "ivr", None)) > execute
    enter = next(e for e in events if e.get("Event-Subclass") == "menu::enter")
    assert enter.get("Menu-Name") == "acme_main"
    assert ("CUSTOM", None, "menu::exit") in names
    stop = next(e for e in events if e.name == "PLAYBACK_STOP")
    assert stop.get("Playback-Status") == "break"  # the digit cut the greeting short
    assert GOODBYE not in played(events)  # a transfer leaves without the exit sound
    assert await node_esl.api(f"uuid_getvar {call.uuid} ivr_left") == "_undef_"
    await call.hangup()


async def test_a_digit_reaches_a_users_phone(node: SimSwitch, node_esl: InboundClient) -> None:
    node.phones.register("1001", "acme.example.com", answer_after=0.2)
    call, _events = await call_in(node, node_esl)
    bridged = node_esl.wait_for_event("CHANNEL_BRIDGE", uuid=call.uuid, timeout=10)
    await call.press("2")
    bridge = await bridged
    assert bridge.get("Other-Leg-Destination-Number") == "1001"
    await call.hangup()


async def test_invalid_digits_and_timeouts_then_exit(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    call, events = await call_in(node, node_esl)
    done = hangup_complete(node_esl, call)
    await press_at(node_esl, call, "5", SHORT)  # not an entry: the invalid sound, then again
    await press_at(node_esl, call, "3", "acme/hours.wav")  # menu-play-sound
    # Then silence: two timeouts (max-timeouts="2"), the exit sound, and the dialplan goes on.
    complete = await done
    assert call.hangup_cause == "NORMAL_CLEARING"
    assert played(events) == [WELCOME, INVALID, SHORT, "acme/hours.wav", SHORT, SHORT, GOODBYE]
    assert complete.variable("ivr_left") == "true"


async def test_max_failures_end_the_menu(node: SimSwitch, node_esl: InboundClient) -> None:
    call, events = await call_in(node, node_esl)
    done = hangup_complete(node_esl, call)
    for _ in range(2):
        await press_at(node_esl, call, "5", SHORT)
    await press_at(node_esl, call, "6", GOODBYE)  # the third failure (max-failures="3")
    complete = await done
    assert played(events) == [WELCOME, INVALID, SHORT, INVALID, SHORT, INVALID, GOODBYE]
    assert complete.variable("ivr_left") == "true"


async def test_nested_menus_top_back_and_a_regex_entry(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    node.phones.register("1002", "acme.example.com", answer_after=0.2)
    call, events = await call_in(node, node_esl)
    await press_at(node_esl, call, "9", SUB)
    await press_at(node_esl, call, "7", DEEP)
    await press_at(node_esl, call, "8", WELCOME)  # menu-top: the top menu starts over
    await press_at(node_esl, call, "9", SUB)
    await press_at(node_esl, call, "*", WELCOME)  # menu-back
    await press_at(node_esl, call, "9", SUB)
    bridged = node_esl.wait_for_event("CHANNEL_BRIDGE", uuid=call.uuid, timeout=10)
    await call.press("1002")  # digit-len 4, digits="/^(1\d{3})$/": transfer $1
    assert (await bridged).get("Other-Leg-Destination-Number") == "1002"
    assert played(events) == [WELCOME, SUB, DEEP, WELCOME, SUB, WELCOME, SUB]
    menus = [
        (e.get("Event-Subclass"), e.get("Menu-Name"))
        for e in events
        if e.get("Event-Subclass") in ("menu::enter", "menu::exit")
    ]
    enter, leave = "menu::enter", "menu::exit"
    assert menus == [
        (enter, "acme_main"), (leave, "acme_main"), (enter, "acme_sub"),
        (leave, "acme_sub"), (enter, "acme_deep"), (leave, "acme_deep"),  # menu-top
        (enter, "acme_sub"), (leave, "acme_sub"), (enter, "acme_main"),
        (leave, "acme_main"), (enter, "acme_sub"), (leave, "acme_sub"),  # menu-back
        (enter, "acme_main"), (leave, "acme_main"), (enter, "acme_sub"),
        (leave, "acme_sub"), (enter, "acme_main"), (leave, "acme_main"),  # transfer
    ]  # fmt: skip
    await call.hangup()


async def test_menu_exit_from_a_sub_menu_leaves_every_menu(
    node: SimSwitch, node_esl: InboundClient
) -> None:
    call, events = await call_in(node, node_esl)
    done = hangup_complete(node_esl, call)
    await press_at(node_esl, call, "9", SUB)
    await press_at(node_esl, call, "7", DEEP)
    await press_at(node_esl, call, "0", GOODBYE)
    complete = await done
    assert played(events) == [WELCOME, SUB, DEEP, GOODBYE]
    assert complete.variable("ivr_left") == "true"


async def test_a_sub_menu_counts_its_own_failures(node: SimSwitch, node_esl: InboundClient) -> None:
    """acme_sub allows two failures; then it returns to the top menu, which goes on."""
    call, events = await call_in(node, node_esl)
    await press_at(node_esl, call, "9", SUB)
    await press_at(node_esl, call, "2999", SUB)  # no entry matches: invalid, then again
    await press_at(node_esl, call, "5", WELCOME)  # 2nd failure: back in acme_main
    parked = node_esl.wait_for_event("CHANNEL_PARK", uuid=call.uuid, timeout=10)
    await call.press("1")
    await parked
    wrong = "acme/sub_invalid.wav"
    assert played(events) == [WELCOME, SUB, wrong, SUB, wrong, WELCOME]
    await call.hangup()
