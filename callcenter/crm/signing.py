"""The signature of a webhook delivery, and its check (what a receiver runs).

What is signed: the timestamp header's value (Unix seconds, as ASCII digits), a ".", then the
raw request body, byte for byte::

    X-Callcenter-Signature: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.".encode() + body)>

The timestamp is part of the signed material so that a captured request cannot be replayed
later: a receiver refuses one whose timestamp is too far from its own clock. Each attempt of a
delivery is signed anew with its own time; ``X-Callcenter-Delivery`` stays the same across the
attempts, so the receiver can drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import time

__all__ = [
    "DELIVERY_HEADER",
    "EVENT_HEADER",
    "SIGNATURE_HEADER",
    "TIMESTAMP_HEADER",
    "TOLERANCE_SECONDS",
    "sign",
    "signed_material",
    "verify",
]

SIGNATURE_HEADER = "X-Callcenter-Signature"
TIMESTAMP_HEADER = "X-Callcenter-Timestamp"
EVENT_HEADER = "X-Callcenter-Event"
DELIVERY_HEADER = "X-Callcenter-Delivery"

# How far a receiver lets the timestamp be from its clock (either way).
TOLERANCE_SECONDS = 300


def signed_material(timestamp: int, body: bytes) -> bytes:
    return f"{timestamp}.".encode("ascii") + body


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Callcenter-Signature`` value of a body sent at ``timestamp``."""
    digest = hmac.new(secret.encode("utf-8"), signed_material(timestamp, body), hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def verify(
    secret: str,
    *,
    timestamp: str,
    signature: str,
    body: bytes,
    tolerance: float = TOLERANCE_SECONDS,
    now: float | None = None,
) -> bool:
    """Whether a request is one we sent, recently: the headers' values and the raw body."""
    if not timestamp.isascii() or not timestamp.isdigit():
        return False
    sent = int(timestamp)
    if abs((time.time() if now is None else now) - sent) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, sent, body), signature)
