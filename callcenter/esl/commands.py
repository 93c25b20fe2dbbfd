"""Building the commands a client sends, refusing anything that could inject a second command.

An ESL command is one line plus optional header lines, ended by an empty line. A CR or LF inside
a value (a caller name, a DTMF string, a variable) would end the command early and let the rest be
read as a new command, so every piece is checked and refused with ``UnsafeValueError``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from callcenter.esl.errors import UnsafeValueError

__all__ = ["build_command", "check_value", "sendmsg_execute", "sendmsg_hangup"]

_FORBIDDEN = ("\r", "\n", "\0")


def check_value(what: str, value: str) -> str:
    """Return ``value`` if it is safe on one ESL line, else raise ``UnsafeValueError``."""
    if any(ch in value for ch in _FORBIDDEN):
        raise UnsafeValueError(what, value)
    return value


def build_command(
    line: str,
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: str | bytes | None = None,
) -> bytes:
    """Bytes of one command. A body travels after the headers with its Content-Length."""
    check_value("command", line)
    items = headers.items() if isinstance(headers, Mapping) else headers
    parts = [line, "\n"]
    for name, value in items:
        check_value("header name", name)
        if ":" in name or not name:
            raise UnsafeValueError("header name", name)
        check_value(f"header {name}", str(value))
        parts.append(f"{name}: {value}\n")
    if body is None:
        parts.append("\n")
        return "".join(parts).encode("utf-8")
    raw = body.encode("utf-8") if isinstance(body, str) else body
    parts.append(f"Content-Length: {len(raw)}\n\n")
    return "".join(parts).encode("utf-8") + raw


def sendmsg_execute(
    app: str,
    arg: str | None = None,
    *,
    uuid: str | None = None,
    event_lock: bool = False,
    event_uuid: str | None = None,
    loops: int | None = None,
    async_: bool = False,
) -> bytes:
    """``sendmsg [<uuid>]`` with ``call-command: execute``."""
    headers: list[tuple[str, str]] = [
        ("call-command", "execute"),
        ("execute-app-name", check_value("application", app)),
    ]
    if arg is not None:
        headers.append(("execute-app-arg", check_value("application argument", arg)))
    if loops is not None:
        headers.append(("loops", str(loops)))
    if event_lock:
        headers.append(("event-lock", "true"))
    if async_:
        headers.append(("async", "true"))
    if event_uuid:
        headers.append(("event-uuid", check_value("event-uuid", event_uuid)))
    line = "sendmsg" if uuid is None else f"sendmsg {check_value('uuid', uuid)}"
    return build_command(line, headers)


def sendmsg_hangup(uuid: str | None = None, cause: str = "NORMAL_CLEARING") -> bytes:
    line = "sendmsg" if uuid is None else f"sendmsg {check_value('uuid', uuid)}"
    return build_command(line, [("call-command", "hangup"), ("hangup-cause", cause)])
