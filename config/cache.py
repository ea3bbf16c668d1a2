"""Cached reads that a change must never leave stale.

A value lives in the shared cache under a generation per name, and forgetting a name moves
it to the next generation (at once, and inside a transaction once more at commit). A reader
that loaded the row before a change and stores it afterwards stores it under the old
generation, where nobody looks any more.

A process may also keep what it read in its own memory for `local_seconds`, in front of
the shared cache: a hot path then costs no network round trip at all. What this process
changes shows at once; what another process changes shows here within `local_seconds`."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any, ClassVar

from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.core.cache.backends.redis import RedisCache
from django.db import transaction

Value = dict[str, Any]


def _next_generation(key: str) -> None:
    cache.add(key, 0, timeout=None)
    try:
        cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, timeout=None)


def _next_generations(keys: list[str]) -> None:
    """`_next_generation` for many keys. On Redis one pipelined INCR each, one round trip
    for all (INCR starts a missing key at 0, with no expiry, as `add` does; Django stores
    an int as its digits, so the counter reads back as the int); elsewhere one by one."""
    backend = caches[DEFAULT_CACHE_ALIAS]  # `cache` is a proxy: isinstance sees the proxy
    if isinstance(backend, RedisCache):
        client = backend._cache.get_client(write=True)
        with client.pipeline(transaction=False) as pipe:
            for key in keys:
                pipe.incr(backend.make_and_validate_key(key))
            pipe.execute()
        return
    for key in keys:
        _next_generation(key)


class GenerationalCache:
    """`get(name, load)` answers from memory, then the shared cache, then `load()` (a dict,
    or None for "there is none", which is cached too, for `miss_seconds`)."""

    everywhere: ClassVar[list[GenerationalCache]] = []

    def __init__(
        self,
        namespace: str,
        *,
        seconds: int,
        miss_seconds: int | None = None,
        local_seconds: float = 0,
        local_max: int = 10_000,
    ) -> None:
        self.namespace = namespace
        self.seconds = seconds
        self.miss_seconds = seconds if miss_seconds is None else miss_seconds
        self.local_seconds = local_seconds
        self.local_max = local_max
        self._local: dict[str, tuple[float, Value]] = {}
        self._forgets = 0  # forgets in this process so far
        GenerationalCache.everywhere.append(self)

    def _digest(self, name: str) -> str:
        return hashlib.sha256(name.encode()).hexdigest()[:32]

    def generation_key(self, name: str) -> str:
        return self._generation_key(self._digest(name))

    def value_key(self, name: str, generation: int) -> str:
        return self._value_key(self._digest(name), generation)

    def _generation_key(self, digest: str) -> str:
        return f"{self.namespace}-gen:{digest}"

    def _value_key(self, digest: str, generation: int) -> str:
        return f"{self.namespace}:{digest}:{generation}"

    def get(
        self,
        name: str,
        load: Callable[[], Value | None],
        before_leaving_memory: Callable[[], None] | None = None,
    ) -> Value | None:
        """`before_leaving_memory` runs when the answer is not in this process's memory,
        before the shared cache or `load` is asked (a budget check, say: it may raise)."""
        now = time.monotonic()
        held = self._local.get(name)
        if held is not None and held[0] > now:
            return held[1] or None
        if before_leaving_memory is not None:
            before_leaving_memory()
        forgets = self._forgets
        digest = self._digest(name)  # a hot path: hashed once for both keys
        key = self._value_key(digest, cache.get(self._generation_key(digest), 0))
        value = cache.get(key)
        if value is None:
            value = load() or {}  # {}: "there is none"; None from the cache: not cached
            cache.set(key, value, self.seconds if value else self.miss_seconds)
        # A forget in this process while we read (another thread) means what we read may
        # be the old answer: it goes to the caller, not into memory for the next one.
        if self.local_seconds and forgets == self._forgets:
            if len(self._local) >= self.local_max:
                self._local.clear()
            self._local[name] = (now + self.local_seconds, value)
        return value or None

    def forget(self, name: str) -> None:
        """After a change every reader must see: this process at once, others within
        `local_seconds`. Inside a transaction, once now and once more at commit: a reader
        between the two still saw the old row."""
        self.forget_many([name])

    def forget_many(self, names: list[str]) -> None:
        """`forget` for many names, in one round trip to the shared cache."""
        if not names:
            return
        self._bump(names)
        if transaction.get_connection().in_atomic_block:
            transaction.on_commit(lambda: self._bump(names))

    def _bump(self, names: list[str]) -> None:
        self._forgets += 1
        for name in names:
            self._local.pop(name, None)
        _next_generations([self.generation_key(name) for name in names])

    @classmethod
    def clear_local(cls) -> None:
        """Forgets what every cache holds in this process's memory (tests, between cases)."""
        for each in cls.everywhere:
            each._local.clear()
