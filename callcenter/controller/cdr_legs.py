"""The CDR's raw material: every channel of the tenant's calls, as it ends, goes on the event
Stream as a ``leg`` entry (the workers turn them into call rows in the database).

Only channels the center marked are reported: the caller (the dialplan set ``cc_tenant``,
``cc_queue`` or ``cc_did``) and the legs the controller rang (``cc_call``). The values come from
CHANNEL_HANGUP_COMPLETE, which carries the channel's final variables (billsec, hold time,
hangup cause and who sent the BYE). Nothing here waits on anything but one XADD.
"""

from __future__ import annotations

from callcenter.esl.events import Event

__all__ = ["leg_entry"]

_MARKS = ("cc_tenant", "cc_queue", "cc_did", "cc_call")


def _epoch_ms(event: Event, header: str) -> int:
    """Caller-Channel-*-Time headers are epoch microseconds, 0 when it never happened."""
    text = event.get(header) or "0"
    return int(text) // 1000 if text.isdigit() else 0


def leg_entry(node: str, event: Event) -> dict[str, str | int] | None:
    """The fields of the ``leg`` Stream entry of a channel that ended, or None when it is not
    the center's."""
    uuid = event.unique_id
    if not uuid or not any(event.variable(mark) for mark in _MARKS):
        return None
    var = event.variable
    call = var("cc_call") or uuid
    entry: dict[str, str | int] = {
        "leg": uuid,
        "call": call,
        "role": var("cc_role") or ("agent" if var("cc_call") else "caller"),
        "node": node,
        "direction": event.get("Call-Direction") or "",
        "channel": event.get("Channel-Name") or "",
        "caller_number": event.get("Caller-Caller-ID-Number") or "",
        "caller_name": event.get("Caller-Caller-ID-Name") or "",
        "destination": event.get("Caller-Destination-Number") or "",
        "did": var("cc_did") or "",
        "campaign": var("cc_did_label") or "",
        "gateway": var("cc_gateway") or var("sip_gateway_name") or "",
        "queue": var("cc_queue") or "",
        "agent": var("cc_agent") or "",
        "created_ms": _epoch_ms(event, "Caller-Channel-Created-Time"),
        "answered_ms": _epoch_ms(event, "Caller-Channel-Answered-Time"),
        "ended_ms": _epoch_ms(event, "Caller-Channel-Hangup-Time"),
        "billsec": var("billsec") or "",
        "duration": var("duration") or "",
        "hold_ms": var("hold_accum_ms") or "",
        "cause": event.get("Hangup-Cause") or var("hangup_cause") or "",
        # recv_bye: the far end hung up; send_bye: this side did (sofia's point of view).
        "disposition": var("sip_hangup_disposition") or "",
        "bridged_to": var("last_bridge_to") or var("bridge_uuid") or "",
    }
    return entry
