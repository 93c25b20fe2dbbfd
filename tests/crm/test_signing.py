"""Signatures: what a receiver checks accepts what we send, and refuses a changed body, another
secret, a replay outside the tolerance and a malformed header."""

from __future__ import annotations

import hashlib
import hmac

from callcenter.crm import sign, verify

SECRET = "s3cret-0123456789abcdef"
BODY = '{"event":"ended","caller_name":"Иван"}'.encode()


def test_the_signature_is_the_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, BODY) == f"sha256={expected}"


def test_verify_accepts_ours_and_refuses_the_rest() -> None:
    now = 1_700_000_000
    good = sign(SECRET, now, BODY)
    assert verify(SECRET, timestamp=str(now), signature=good, body=BODY, now=now + 10)
    assert not verify(SECRET, timestamp=str(now), signature=good, body=BODY + b" ", now=now)
    assert not verify("another-secret-0123", timestamp=str(now), signature=good, body=BODY, now=now)
    # The same request later (a replay) or a timestamp moved to look fresh.
    assert not verify(SECRET, timestamp=str(now), signature=good, body=BODY, now=now + 301)
    assert not verify(SECRET, timestamp=str(now + 400), signature=good, body=BODY, now=now + 400)
    assert not verify(SECRET, timestamp="-1", signature=good, body=BODY, now=now)
    assert not verify(SECRET, timestamp=str(now), signature=good.upper(), body=BODY, now=now)
