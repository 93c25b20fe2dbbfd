"""Fixtures of the worker tests: the workers use redis-py's synchronous client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from redis import Redis


@pytest.fixture
def sync_redis(redis_url: str) -> Iterator[Redis]:
    client = Redis.from_url(redis_url)
    try:
        yield client
    finally:
        client.close()
