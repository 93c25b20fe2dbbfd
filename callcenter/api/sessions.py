"""Browser sessions in Redis: a random cookie value names a key holding the user's id. Kept in
Redis (not in the process) so a restart or another controller serving the same center keeps
people signed in; each use moves the expiry on."""

from __future__ import annotations

import hashlib
import secrets

from redis.asyncio import Redis

__all__ = ["COOKIE", "Sessions"]

COOKIE = "cc_session"


def _key(secret: str) -> str:
    # Only a hash of the cookie is a key: reading Redis does not give one a session.
    return "cc:session:" + hashlib.sha256(secret.encode()).hexdigest()


class Sessions:
    def __init__(self, redis: Redis, lifetime_seconds: int) -> None:
        self.redis = redis
        self.lifetime = lifetime_seconds

    async def open(self, user_id: int) -> str:
        secret = secrets.token_urlsafe(32)
        await self.redis.set(_key(secret), str(user_id), ex=self.lifetime)
        return secret

    async def user_id(self, secret: str) -> int | None:
        if not secret or len(secret) > 128:
            return None
        key = _key(secret)
        value = await self.redis.get(key)
        if value is None:
            return None
        await self.redis.expire(key, self.lifetime)
        return int(value)

    async def close(self, secret: str) -> None:
        await self.redis.delete(_key(secret))
