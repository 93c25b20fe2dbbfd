"""Limits on wrong passwords, so that guessing one is slow whatever the password's hashing.

Failed sign-ins are counted in Redis (shared by every process serving the center, kept over a
restart) over a window of ``window_seconds`` that starts with the first failure:

- per login and client address: ``max_failures`` (a person who mistyped a few times waits out
  the window; a successful sign-in clears this count);
- per client address, whatever the login: 6 times ``max_failures`` (one host trying many logins);
- per login, from any address: 10 times ``max_failures`` (guessing spread over many hosts). This
  one can keep the real user out while an attack lasts, from everywhere: the price of bounding
  the guesses at all; the log and the audit show it.

A sign-in over a limit is refused before its password is looked at (no hashing work, and no
answer to learn from), with how long to wait. Logins and addresses are hashed into the keys.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from redis.asyncio import Redis

__all__ = ["SignInLimits"]

# KEYS: the counters. ARGV[1]: the window (ms). One failure more on each; a counter's window
# starts with its first failure.
_FAILED = """
for _, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[1]) end
end
return 1
"""


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()[:32]


@dataclass
class SignInLimits:
    redis: Redis
    max_failures: int = 5
    window_seconds: float = 900.0
    namespace: str = "cc"  # the Redis key prefix (centers sharing a Redis keep apart)

    def __post_init__(self) -> None:
        if self.max_failures < 1 or self.window_seconds <= 0:
            raise ValueError("sign-in limits need max_failures >= 1 and a window > 0")
        self._failed = self.redis.register_script(_FAILED)

    def _keys(self, login: str, address: str) -> list[tuple[str, int]]:
        base = f"{self.namespace}:signin"
        return [
            (f"{base}:pair:{_digest(login + chr(0) + address)}", self.max_failures),
            (f"{base}:address:{_digest(address)}", 6 * self.max_failures),
            (f"{base}:login:{_digest(login)}", 10 * self.max_failures),
        ]

    async def retry_after(self, login: str, address: str) -> int:
        """0 when a sign-in may be tried now, else the seconds until it may."""
        keys = self._keys(login, address)
        async with self.redis.pipeline(transaction=False) as pipe:
            for key, _ in keys:
                pipe.get(key)
                pipe.pttl(key)
            replies = await pipe.execute()
        wait_ms = 0
        for n, (_, limit) in enumerate(keys):
            count, ttl = replies[2 * n], replies[2 * n + 1]
            if count is not None and int(count) >= limit:
                wait_ms = max(wait_ms, ttl if ttl > 0 else int(self.window_seconds * 1000))
        return -(-wait_ms // 1000)  # whole seconds, rounded up

    async def failed(self, login: str, address: str) -> None:
        keys = [key for key, _ in self._keys(login, address)]
        await self._failed(keys=keys, args=[int(self.window_seconds * 1000)])

    async def succeeded(self, login: str, address: str) -> None:
        """The person at that address knows the password: their own mistypes are forgotten."""
        await self.redis.delete(self._keys(login, address)[0][0])
