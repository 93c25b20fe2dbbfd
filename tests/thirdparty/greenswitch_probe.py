"""Run greenswitch (a third-party, gevent-based ESL client) against a switch; print JSON.

Run as a separate process because gevent must not share the test process's asyncio loop.
Usage: python greenswitch_probe.py <port> <password>
"""

from __future__ import annotations

import json
import sys
from typing import Any

import gevent
import greenswitch


def main() -> int:
    port, password = int(sys.argv[1]), sys.argv[2]
    out: dict[str, Any] = {}
    fs = greenswitch.InboundESL(host="127.0.0.1", port=port, password=password)
    fs.connect()
    out["status"] = fs.send("api status").data
    out["version"] = fs.send("api version").data
    seen: list[dict[str, str]] = []

    def remember(event: Any) -> None:
        seen.append(dict(event.headers))

    for name in ("CHANNEL_CREATE", "CHANNEL_ANSWER", "CHANNEL_HANGUP_COMPLETE", "BACKGROUND_JOB"):
        fs.register_handle(name, remember)
    reply = fs.send(
        "event plain CHANNEL_CREATE CHANNEL_ANSWER CHANNEL_HANGUP_COMPLETE BACKGROUND_JOB"
    )
    out["event_reply"] = reply.headers.get("Reply-Text")
    uuid = "abababab-abab-4bab-8bab-abababababab"
    out["originate"] = fs.send(
        f"api originate {{origination_uuid={uuid},origination_caller_id_name='Ivan Petrov & Co'}}"
        "null/1000 &park()"
    ).data
    out["bgapi_reply"] = fs.send("bgapi uuid_exists " + uuid).headers.get("Reply-Text")
    out["kill"] = fs.send(f"api uuid_kill {uuid}").data
    for _ in range(200):
        names = [e.get("Event-Name") for e in seen]
        if "CHANNEL_HANGUP_COMPLETE" in names and "BACKGROUND_JOB" in names:
            break
        gevent.sleep(0.05)
    out["events"] = seen
    fs.stop()
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
