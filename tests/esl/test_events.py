"""Event objects from each format (plain lazily decoded, json, xml), and their error cases."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from callcenter.esl.errors import EslError, EslProtocolError
from callcenter.esl.events import Event, parse_event_plain
from callcenter.esl.frames import ContentType, Frame
from callcenter.esl.serialize import serialize_json, serialize_plain, serialize_xml

FORMATS = {"plain": serialize_plain, "json": serialize_json, "xml": serialize_xml}


def frame(ctype: str, body: bytes) -> Frame:
    return Frame({"Content-Length": str(len(body)), "Content-Type": ctype}, body)


def event_of(fmt: str, headers: list[tuple[str, str]], body: str | None = None) -> Event:
    return Event.from_frame(frame(f"text/event-{fmt}", FORMATS[fmt](headers, body)))


# -- plain ----------------------------------------------------------------------------------------


def test_lazy_plain_access() -> None:
    event = parse_event_plain(
        b"Event-Name: CHANNEL_ANSWER\nUnique-ID: u1\nvariable_queue: sales%20team\n\n"
    )
    assert event.format == "plain"
    assert event.name == "CHANNEL_ANSWER"
    assert event["Unique-ID"] == "u1"
    assert event.unique_id == "u1"
    assert event.variable("queue") == "sales team"
    assert event.variable("missing") is None
    assert event.get("Missing") is None
    assert event.get("Missing", "d") == "d"
    assert event.get("Unique-ID", "d") == "u1"
    with pytest.raises(KeyError):
        event["Missing"]
    assert "Unique-ID" in event
    assert "Missing" not in event
    assert 42 not in event
    assert event.body is None
    assert event.job_uuid is None
    assert event.subclass is None
    assert len(event) == 3
    assert list(event) == ["Event-Name", "Unique-ID", "variable_queue"]
    assert "CHANNEL_ANSWER" in repr(event) and "u1" in repr(event)


def test_lazy_lookup_matches_whole_lines_only() -> None:
    event = parse_event_plain(
        b"Event-Name: X\nChannel-Unique-ID: c1\nOther-Event-Name: Y\nUnique-ID-Suffix: s\n"
        b"Name: n\n\n"
    )
    assert event.get("Unique-ID") is None  # neither a suffix nor a prefix of another name
    assert event.get("Channel-Unique-ID") == "c1"
    assert event.get("Event-Name") == "X"  # the first line (no "\n" before it)
    assert event.get("Name") == "n"
    assert event.get("ID") is None
    assert event.get("event-name") is None  # case-sensitive, as the dict


def test_lazy_lookup_before_and_after_full_decoding() -> None:
    raw = b"Event-Name: CUSTOM\nEvent-Subclass: callcenter%3A%3Ainfo\nCC-Queue: q%40d\n\n"
    event = parse_event_plain(raw)
    assert event.subclass == "callcenter::info"
    assert event.headers == {
        "Event-Name": "CUSTOM",
        "Event-Subclass": "callcenter::info",
        "CC-Queue": "q@d",
    }
    assert event.get("CC-Queue") == "q@d"
    assert event.get("Missing") is None


def test_empty_value_on_the_wire() -> None:
    event = parse_event_plain(b"Event-Name: X\nEmpty: \nAfter: a\n\n")
    assert event.get("Empty") == ""
    assert "Empty" in event
    assert event.headers["Empty"] == ""
    assert event.get("After") == "a"


def test_encoded_newline_inside_a_value_does_not_split_headers() -> None:
    raw = b"Event-Name: CUSTOM\nX-Note: a%0AX-Fake: injected%0A%0AEvent-Name: FAKE\nX-After: ok\n\n"
    lazy = parse_event_plain(raw)
    assert lazy.get("X-Note") == "a\nX-Fake: injected\n\nEvent-Name: FAKE"
    assert lazy.get("X-Fake") is None
    assert lazy.name == "CUSTOM"
    full = parse_event_plain(raw).headers
    assert full == {
        "Event-Name": "CUSTOM",
        "X-Note": "a\nX-Fake: injected\n\nEvent-Name: FAKE",
        "X-After": "ok",
    }


def test_plain_event_with_a_body() -> None:
    body = "+OK done\nEvent-Name: FAKE\nUnique-ID: fake\n\nContent-Length: 3\n\n"
    event = event_of("plain", [("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", "j1")], body)
    assert event.body == body
    assert event.job_uuid == "j1"
    assert event.get("Unique-ID") is None, "the body's lines are not headers"
    assert event.get("Content-Length") is None, "the inner length is not a header"
    fresh = event_of("plain", [("Event-Name", "BACKGROUND_JOB"), ("Job-UUID", "j1")], body)
    assert fresh.headers == {"Event-Name": "BACKGROUND_JOB", "Job-UUID": "j1"}
    assert fresh.body == body


def test_plain_body_is_sliced_in_bytes() -> None:
    event = event_of("plain", [("Event-Name", "CUSTOM")], "Иван ☎\n")
    assert event.body == "Иван ☎\n"


def test_plain_event_without_trailing_blank_line() -> None:
    # Tolerated: the header block simply ends at the end of the payload.
    event = parse_event_plain(b"Event-Name: X\nA: b\n")
    assert event.headers == {"Event-Name": "X", "A": "b"}


@pytest.mark.parametrize("fmt", ["plain", "json", "xml"])
def test_duplicate_headers_first_wins_in_every_format(fmt: str) -> None:
    # CHANNEL_HANGUP_COMPLETE carries Hangup-Cause twice (cap 05/06/07); a dict keeps one.
    headers = [("Event-Name", "X"), ("Dup", "first"), ("Dup", "second")]
    assert event_of(fmt, headers).get("Dup") == "first"
    assert event_of(fmt, headers).headers == {"Event-Name": "X", "Dup": "first"}


def test_array_headers_decode_the_same_in_plain_and_json() -> None:
    plain = parse_event_plain(b"Event-Name: X\nA: ARRAY%3A%3Aa%7C%3Ab\n\n")
    js = Event.from_frame(frame("text/event-json", b'{"Event-Name":"X","A":["a","b"]}'))
    assert plain.get("A") == js.get("A") == "ARRAY::a|:b"
    assert plain.get_array("A") == js.get_array("A") == ["a", "b"]
    assert plain.get_array("Event-Name") == ["X"] and plain.get_array("missing") == []


def test_xml_keeps_the_first_of_repeated_elements_even_of_an_array() -> None:
    # XML writes an array as one element per item and a header added twice as two elements
    # (which may differ: Event-Name COMMAND, PRIVATE_COMMAND in capture 07): it cannot tell
    # them apart, so it is read as the other formats read a repeated header.
    xml = Event.from_frame(
        frame(
            "text/event-xml",
            b"<event><headers><Event-Name>X</Event-Name><A>a</A><A>b</A></headers></event>",
        )
    )
    assert xml.get("A") == "a"
    assert xml.get_array("A") == ["a"]


# -- json -----------------------------------------------------------------------------------------


def test_json_event_with_body_and_array() -> None:
    body = (
        b'{"Event-Name":"BACKGROUND_JOB","Job-UUID":"j","arr":["a","b"],'
        b'"Content-Length":"3","_body":"+OK"}'
    )
    event = Event.from_frame(frame("text/event-json", body))
    assert event.body == "+OK"
    assert event.get("arr") == "ARRAY::a|:b"
    assert event.get_array("arr") == ["a", "b"]
    assert "Content-Length" not in event
    assert "_body" not in event
    assert event.format == "json"
    assert event.job_uuid == "j"


def test_json_values_are_not_url_decoded() -> None:
    event = Event.from_frame(
        frame("text/event-json", b'{"Event-Name":"X","V":"a%20b","U":"\\u0418\\n"}')
    )
    assert event.get("V") == "a%20b"
    assert event.get("U") == "И\n"


def test_json_non_string_values_become_strings() -> None:
    event = Event.from_frame(frame("text/event-json", b'{"Event-Name":"X","N":5,"L":[1,"b"]}'))
    assert event.get("N") == "5"
    assert event.get("L") == "ARRAY::1|:b"


def test_json_event_round_trip_with_a_body() -> None:
    event = event_of("json", [("Event-Name", "CUSTOM"), ("A", 'q"\\\n')], "body\n\x01")
    assert event.headers == {"Event-Name": "CUSTOM", "A": 'q"\\\n'}
    assert event.body == "body\n\x01"


# -- xml ------------------------------------------------------------------------------------------


def test_xml_event_body_trimmed_to_content_length() -> None:
    body = (
        b"<event>\n  <headers>\n    <Event-Name>BACKGROUND_JOB</Event-Name>\n"
        b"    <Job-Command-Arg>a%20%26%20b</Job-Command-Arg>\n  </headers>\n"
        b"  <Content-Length>4</Content-Length>\n  <body>+OK\n  </body>\n</event>\n"
    )
    event = Event.from_frame(frame("text/event-xml", body))
    assert event.body == "+OK\n"
    assert event.get("Job-Command-Arg") == "a & b"
    assert event.format == "xml"


def test_xml_body_trimmed_in_bytes() -> None:
    body = "Иван &lt;x&gt;\n".encode()
    payload = (
        b"<event>\n  <headers>\n    <Event-Name>CUSTOM</Event-Name>\n  </headers>\n"
        b"  <Content-Length>%d</Content-Length>\n  <body>%s  </body>\n</event>\n"
        % (len("Иван <x>\n".encode()), body)
    )
    event = Event.from_frame(frame("text/event-xml", payload))
    assert event.body == "Иван <x>\n"


def test_xml_body_without_content_length_is_kept_whole() -> None:
    payload = b"<event><headers><Event-Name>X</Event-Name></headers><body>abc</body></event>"
    assert Event.from_frame(frame("text/event-xml", payload)).body == "abc"


def test_xml_values_are_url_decoded_and_unescaped() -> None:
    payload = (
        b"<event><headers><Event-Name>X</Event-Name><A>%3Cb%3E</A><B>&amp;x</B><C/>"
        b"</headers></event>"
    )
    event = Event.from_frame(frame("text/event-xml", payload))
    assert event.get("A") == "<b>"
    assert event.get("B") == "&x"
    assert event.get("C") == ""
    assert event.body is None


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ctype", "body", "message"),
    [
        ("text/event-plain", b"Foo: bar\n\n", "without Event-Name"),
        ("text/event-plain", b"", "without Event-Name"),
        ("text/event-plain", b"Event-Name: X", "without the empty line"),
        ("text/event-plain", b"Event-Name: X\nContent-Length: 99\n\nshort", "shorter"),
        ("text/event-plain", b"Event-Name: X\nContent-Length: x1\n\nabc", "invalid inner"),
        ("text/event-json", b"{not json", "invalid JSON"),
        ("text/event-json", b"\xff\xfe", "invalid JSON"),
        ("text/event-json", b"[1]", "not an object"),
        ("text/event-json", b'"s"', "not an object"),
        ("text/event-xml", b"<event><headers>", "invalid XML"),
        ("text/event-xml", b"", "invalid XML"),
        ("text/event-xml", b"<other/>", "without <event><headers>"),
        ("text/event-xml", b"<event><body/></event>", "without <event><headers>"),
        ("command/reply", b"", "is not an event"),
        ("api/response", b"Event-Name: X\n\n", "is not an event"),
        ("", b"", "is not an event"),
    ],
)
def test_bad_events_are_protocol_errors(ctype: str, body: bytes, message: str) -> None:
    with pytest.raises(EslProtocolError, match=message):
        Event.from_frame(frame(ctype, body))


@pytest.mark.parametrize(
    ("ctype", "body"),
    [
        ("text/event-plain", b"Unique-ID: u\n\n"),
        ("text/event-plain", b"Unique-ID: u\nContent-Length: 15\n\nEvent-Name: X\n\n"),
        ("text/event-json", b'{"Unique-ID":"u"}'),
        ("text/event-json", b'{"Unique-ID":"u","_body":"Event-Name: X"}'),
        ("text/event-xml", b"<event><headers><Unique-ID>u</Unique-ID></headers></event>"),
    ],
)
def test_event_without_event_name_is_an_error(ctype: str, body: bytes) -> None:
    with pytest.raises(EslProtocolError, match="Event-Name"):
        Event.from_frame(frame(ctype, body))


def test_deeply_nested_json_is_a_protocol_error() -> None:
    # json.loads raises RecursionError here, which must not escape the EslError tree.
    with pytest.raises(EslProtocolError):
        Event.from_frame(frame("text/event-json", b"[" * 100_000))


@pytest.mark.parametrize("length", ["\u00b2", "\u0661", "-1", "x"])
def test_xml_bad_content_length_is_a_protocol_error(length: str) -> None:
    payload = (
        "<event><headers><Event-Name>X</Event-Name></headers>"
        f"<Content-Length>{length}</Content-Length><body>ab</body></event>"
    ).encode()
    with pytest.raises(EslProtocolError):
        Event.from_frame(frame("text/event-xml", payload))


@pytest.mark.parametrize("name", ["Имя", "Café", "X-☎"])
def test_non_ascii_header_names_lazy_and_full_agree(name: str) -> None:
    # Names are not url-encoded: they travel as UTF-8 in plain events.
    raw = serialize_plain([("Event-Name", "X"), (name, "v")])
    assert parse_event_plain(raw).headers[name] == "v"
    assert parse_event_plain(raw).get(name) == "v"


@settings(max_examples=200)
@given(st.binary(max_size=400), st.sampled_from(["plain", "json", "xml"]))
def test_random_payloads_decode_or_raise_protocol_errors(payload: bytes, fmt: str) -> None:
    try:
        event = Event.from_frame(frame(f"text/event-{fmt}", payload))
    except EslProtocolError:
        return
    event.headers  # noqa: B018 - decoding every header must not raise either
    assert event.name


# -- agreement between lazy and full decoding, and across formats ---------------------------------

NAME = st.from_regex(r"\A[A-Z][A-Za-z0-9_-]{0,15}\Z", fullmatch=True).filter(
    lambda n: n not in ("Content-Length", "Event-Name")
)
VALUE = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="%"), max_size=30
).filter(bool)


@settings(max_examples=200)
@given(st.dictionaries(NAME, VALUE, max_size=10), st.sampled_from(["plain", "json", "xml"]))
def test_get_and_headers_agree(values: dict[str, str], fmt: str) -> None:
    headers = [("Event-Name", "CUSTOM"), *values.items()]
    lazy = event_of(fmt, headers)
    for name, value in headers:
        assert lazy.get(name) == value
        assert lazy.get(name.lower() + "-x") is None
    full = event_of(fmt, headers).headers
    assert full == dict(headers)


# -- the frame the outbound connect reply arrives in ----------------------------------------------


def test_connect_reply_decodes_as_channel_data() -> None:
    connect = Frame(
        {
            "Event-Name": "CHANNEL_DATA",
            "Unique-ID": "u1",
            "Caller-Caller-ID-Name": "Ivan%20Petrov%20%26%20Co",
            "Content-Type": "command/reply",
            "Reply-Text": "%2BOK%0A",
            "Socket-Mode": "async",
        },
        b"",
        True,
    )
    assert connect.reply_text == "+OK\n"
    assert connect.header("Caller-Caller-ID-Name") == "Ivan Petrov & Co"
    assert connect.header("Missing", "d") == "d"
    assert not connect.is_event
    event = Event.from_frame(connect)
    assert event.name == "CHANNEL_DATA"
    assert event.unique_id == "u1"
    assert event.get("Caller-Caller-ID-Name") == "Ivan Petrov & Co"


def test_frame_helpers() -> None:
    reply = Frame({"Content-Type": "command/reply", "Reply-Text": "+OK a%20b"})
    assert reply.content_type == ContentType.COMMAND_REPLY
    assert reply.reply_text == "+OK a%20b"  # not an encoded frame: no decoding
    assert Frame({}).content_type == ""
    assert Frame({}).reply_text == ""
    api = Frame({"Content-Type": "api/response", "Content-Length": "2"}, b"\xd0\x98")
    assert api.text == "И"
    assert not api.is_event
    assert frame("text/event-xml", b"").is_event
    assert api.to_bytes() == b"Content-Type: api/response\nContent-Length: 2\n\n\xd0\x98"


def test_direct_construction_and_error_tree() -> None:
    event = Event({"Event-Name": "X", "Unique-ID": "u"}, "body", format="json")
    assert event.name == "X" and event.unique_id == "u" and event.body == "body"
    assert issubclass(EslProtocolError, EslError)
