"""The inbound client against the simulated switch over real TCP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from callcenter.esl.client import Backoff, ConnectionState, InboundClient
from callcenter.esl.errors import (
    EslAuthError,
    EslCommandError,
    EslConnectionError,
    EslTimeoutError,
    UnsafeValueError,
)
from callcenter.esl.events import Event
from callcenter.sim import SimSwitch


@pytest.fixture
async def switch() -> AsyncIterator[SimSwitch]:
    sim = SimSwitch(password="ClueCon", time_scale=0.05)
    await sim.start("127.0.0.1", 0)
    try:
        yield sim
    finally:
        await sim.stop()


@pytest.fixture
async def client(switch: SimSwitch) -> AsyncIterator[InboundClient]:
    cli = InboundClient("127.0.0.1", switch.port, "ClueCon", command_timeout=10)
    await cli.connect()
    try:
        yield cli
    finally:
        await cli.close()


async def test_connects_authenticates_and_runs_api(client: InboundClient) -> None:
    assert client.state is ConnectionState.READY
    assert "READY" in repr(client)
    status = await client.api("status")
    assert "is ready" in status
    assert (await client.api("version")).startswith("FreeSWITCH Version 1.10")


async def test_wrong_password_is_an_auth_error(switch: SimSwitch) -> None:
    cli = InboundClient("127.0.0.1", switch.port, "wrong")
    with pytest.raises(EslAuthError, match="authentication failed"):
        await cli.connect()
    assert cli.state is ConnectionState.CLOSED


async def test_nothing_listening_is_a_connection_error() -> None:
    cli = InboundClient("127.0.0.1", 1, "ClueCon", connect_timeout=2)
    with pytest.raises(EslConnectionError, match="cannot connect"):
        await cli.connect()


async def test_api_check_raises_on_err(client: InboundClient) -> None:
    assert (await client.api("no_such_thing")).startswith("-ERR no_such_thing Command not found!")
    with pytest.raises(EslCommandError, match="Command not found"):
        await client.api("no_such_thing", check=True)


async def test_bgapi_resolves_from_background_job(client: InboundClient) -> None:
    result = await client.bgapi("originate null/1000 &park()", timeout=10)
    assert result.startswith("+OK ")
    uuid = result.split()[1]
    assert (await client.api(f"uuid_exists {uuid}")) == "true"
    failed = await client.bgapi("originate error/user_busy &park()", timeout=10)
    assert failed == "-ERR USER_BUSY\n"
    with pytest.raises(EslCommandError, match="USER_BUSY"):
        await client.bgapi("originate error/user_busy &park()", timeout=10, check=True)


async def test_bgapi_uses_a_chosen_job_uuid(client: InboundClient) -> None:
    seen: list[Event] = []
    client.on("BACKGROUND_JOB", seen.append)
    job = "11111111-2222-4333-8444-555555555555"
    assert "UP " in await client.bgapi("status", job_uuid=job, timeout=10)
    assert any(e.job_uuid == job and e.get("Job-Command") == "status" for e in seen)


async def test_handlers_by_name_and_channel_and_waiters(client: InboundClient) -> None:
    uuid = "22222222-2222-4222-8222-222222222222"
    await client.subscribe("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE")
    created: list[Event] = []
    per_channel: list[str] = []
    client.on("CHANNEL_CREATE", created.append)

    async def on_mine(event: Event) -> None:
        per_channel.append(event.name)

    client.on_channel(uuid, on_mine)
    hungup = client.wait_for_event("CHANNEL_HANGUP_COMPLETE", uuid=uuid, timeout=10)
    reply = await client.api(f"originate {{origination_uuid={uuid}}}null/1000 &park()")
    assert reply == f"+OK {uuid}\n"
    await client.api(f"uuid_kill {uuid} USER_BUSY")
    event = await hungup
    assert event.get("Hangup-Cause") == "USER_BUSY"
    assert any(e.unique_id == uuid for e in created)
    assert per_channel[0] == "CHANNEL_CREATE"
    assert per_channel[-1] == "CHANNEL_HANGUP_COMPLETE"


async def test_custom_subclass_handler(client: InboundClient) -> None:
    await client.subscribe(custom=["cc::test"])
    got = client.wait_for_event("CUSTOM", timeout=10)
    reply = await client.send("sendevent CUSTOM", {"Event-Subclass": "cc::test", "X-Who": "me"})
    assert reply.reply_text.startswith("+OK ")
    event = await got
    assert event.subclass == "cc::test"
    assert event.get("X-Who") == "me"


@pytest.mark.parametrize("fmt", ["json", "xml"])
async def test_json_and_xml_event_formats(switch: SimSwitch, fmt: str) -> None:
    async with InboundClient("127.0.0.1", switch.port, "ClueCon", event_format=fmt) as cli:
        await cli.subscribe("CHANNEL_CREATE")
        uuid = "33333333-3333-4333-8333-333333333333"
        created = cli.wait_for_event("CHANNEL_CREATE", uuid=uuid, timeout=10)
        await cli.api(f"originate {{origination_uuid={uuid}}}null/1 &park()")
        event = await created
        assert event.format == fmt
        assert event.get("Channel-State") is not None
        assert (await cli.bgapi("version", timeout=10)).startswith("FreeSWITCH Version")


async def test_filter_keeps_background_jobs_flowing(client: InboundClient) -> None:
    mine = "44444444-4444-4444-8444-444444444444"
    other = "55555555-5555-4555-8555-555555555555"
    await client.subscribe("CHANNEL_CREATE")
    await client.add_filter("Unique-ID", mine)
    names: list[str | None] = []
    client.on("CHANNEL_CREATE", lambda e: names.append(e.unique_id))
    await client.api(f"originate {{origination_uuid={other}}}null/1 &park()")
    mine_created = client.wait_for_event("CHANNEL_CREATE", uuid=mine, timeout=10)
    await client.api(f"originate {{origination_uuid={mine}}}null/1 &park()")
    await mine_created
    assert names == [mine]
    # Without the automatic BACKGROUND_JOB filter this would time out (PROTOCOL.md pitfall 11).
    assert (await client.bgapi("uuid_exists " + mine, timeout=10)) == "true"
    await client.delete_filter("Unique-ID", mine)


async def test_execute_with_event_lock_and_hangup(client: InboundClient) -> None:
    uuid = "66666666-6666-4666-8666-666666666666"
    await client.subscribe("CHANNEL_EXECUTE_COMPLETE", "CHANNEL_HANGUP")
    await client.api(f"originate {{origination_uuid={uuid}}}null/1 &park()")
    app_uuid = "77777777-7777-4777-8777-777777777777"
    done = client.wait_for_event(
        "CHANNEL_EXECUTE_COMPLETE",
        uuid=uuid,
        predicate=lambda e: e.get("Application-UUID") == app_uuid,
        timeout=10,
    )
    await client.execute(uuid, "playback", "tone_stream://%(100,0,440)", event_uuid=app_uuid)
    event = await done
    assert event.get("Application") == "playback"
    hung = client.wait_for_event("CHANNEL_HANGUP", uuid=uuid, timeout=10)
    await client.hangup(uuid, "CALL_REJECTED")
    assert (await hung).get("Hangup-Cause") == "CALL_REJECTED"
    with pytest.raises(EslCommandError, match="invalid session id"):
        await client.execute(uuid, "answer")


async def test_linger_in_inbound_mode_is_refused(client: InboundClient) -> None:
    with pytest.raises(EslCommandError, match="not controlling a session"):
        await client.linger()


async def test_values_with_line_breaks_are_never_sent(client: InboundClient) -> None:
    for bad in ("status\nexit", "status\r", "x\0y"):
        with pytest.raises(UnsafeValueError):
            await client.api(bad)
    with pytest.raises(UnsafeValueError, match="application argument"):
        await client.execute("88888888-8888-4888-8888-888888888888", "playback", "a\n\nexit")
    with pytest.raises(UnsafeValueError):
        await client.send("sendevent CUSTOM", {"X-Evil": "a\nEvent-Name: HEARTBEAT"})
    # The connection was never polluted: the next command gets its own reply.
    assert (await client.api("version")).startswith("FreeSWITCH Version")


async def test_a_late_reply_after_a_timeout_does_not_shift_replies(
    switch: SimSwitch, client: InboundClient
) -> None:
    switch.phones.register("1500", "default", answer_after=2.0 / 0.05)  # 2 s at this time scale
    with pytest.raises(EslTimeoutError):
        await client.api("originate user/1500@default &park()", timeout=0.3)
    # The originate's reply arrives later and is dropped; this reply is the version's own.
    assert (await client.api("version", timeout=10)).startswith("FreeSWITCH Version")
    assert (await client.api("global_getvar domain", timeout=10)) != ""


async def test_reconnects_resubscribes_and_calls_back(switch: SimSwitch) -> None:
    reconciled = asyncio.Event()

    async def reconcile(cli: InboundClient) -> None:
        assert (await cli.api("show channels")).endswith("total.\n")
        reconciled.set()

    cli = InboundClient(
        "127.0.0.1",
        switch.port,
        "ClueCon",
        backoff=Backoff(initial=0.05, maximum=0.2),
        on_reconnect=reconcile,
    )
    await cli.connect()
    try:
        await cli.subscribe("CHANNEL_CREATE")
        port = switch.port
        await switch.stop()
        await switch.start("127.0.0.1", port)
        await asyncio.wait_for(reconciled.wait(), 20)
        assert cli.connects == 2
        assert cli.state is ConnectionState.READY
        uuid = "99999999-9999-4999-8999-999999999999"
        created = cli.wait_for_event("CHANNEL_CREATE", uuid=uuid, timeout=10)
        await cli.api(f"originate {{origination_uuid={uuid}}}null/1 &park()")
        await created  # the subscription was restored on the new connection
    finally:
        await cli.close()
    assert repr(cli).endswith("connects=2>")
    assert "CLOSED" in repr(cli)


async def test_commands_fail_fast_while_disconnected(switch: SimSwitch) -> None:
    cli = InboundClient("127.0.0.1", switch.port, "ClueCon", backoff=Backoff(initial=5, maximum=5))
    await cli.connect()
    try:
        port = switch.port
        await switch.stop()
        for _ in range(100):
            if cli.state is not ConnectionState.READY:
                break
            await asyncio.sleep(0.05)
        with pytest.raises(EslConnectionError, match="not connected"):
            await cli.api("status")
        await switch.start("127.0.0.1", port)
    finally:
        await cli.close()


async def test_userauth_login() -> None:
    async with SimSwitch(users={"crm@default": "t0ken"}) as sim:
        async with InboundClient("127.0.0.1", sim.port, "t0ken", user="crm@default") as cli:
            assert (await cli.api("version")).startswith("FreeSWITCH Version")
        bad = InboundClient("127.0.0.1", sim.port, "wrong", user="crm@default")
        with pytest.raises(EslAuthError):
            await bad.connect()


async def test_acl_rejection_is_an_auth_error() -> None:
    async with SimSwitch(allowed_peers=["192.0.2.0/24"]) as sim:
        cli = InboundClient("127.0.0.1", sim.port, "ClueCon")
        with pytest.raises(EslAuthError, match="refused this address"):
            await cli.connect()


async def test_a_server_speaking_something_else_fails_fast_and_clearly() -> None:
    async def http(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()
        await reader.read()

    server = await asyncio.start_server(http, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        cli = InboundClient("127.0.0.1", port, "ClueCon", connect_timeout=30)
        with pytest.raises(EslConnectionError, match="malformed ESL header line"):
            await asyncio.wait_for(cli.connect(), 10)
    finally:
        server.close()
        await server.wait_closed()
