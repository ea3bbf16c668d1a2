"""The warmup cap's daily counter, exact under concurrency: an atomic Lua script in Redis
when REDIS_URL is set, otherwise a database row changed by one conditional upsert (the row
lock serialises concurrent senders; the daily warmup task prunes old rows). A slot taken
for a message the provider then refused is given back."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from django.conf import settings
from django.db import connection
from django.db.models import F

# Take `n` slots unless that would pass the cap; the key expires two days after its first
# slot so yesterday's counter is there to read for a while and then goes by itself.
TAKE_SCRIPT = """
local n = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current + n > cap then
  return {0, current}
end
local now = redis.call('INCRBY', KEYS[1], n)
if now == n then
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return {1, now}
"""
GIVE_BACK_SCRIPT = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
local n = math.min(tonumber(ARGV[1]), current)
if n > 0 then
  return redis.call('DECRBY', KEYS[1], n)
end
return current
"""
KEY_SECONDS = 2 * 86400


@dataclass(frozen=True)
class Take:
    allowed: bool
    count: int  # the day's count after the take (or, refused, as it stands)


class SendCounter(Protocol):
    def take(self, domain_id: str, day: date, n: int, cap: int) -> Take: ...

    def give_back(self, domain_id: str, day: date, n: int) -> None: ...

    def count(self, domain_id: str, day: date) -> int: ...


class RedisSendCounter:
    def __init__(self, url: str) -> None:
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._take = self.client.register_script(TAKE_SCRIPT)
        self._give_back = self.client.register_script(GIVE_BACK_SCRIPT)

    @staticmethod
    def key(domain_id: str, day: date) -> str:
        return f"warmup-count:{domain_id}:{day.isoformat()}"

    def take(self, domain_id: str, day: date, n: int, cap: int) -> Take:
        allowed, count = self._take(keys=[self.key(domain_id, day)], args=[n, cap, KEY_SECONDS])
        return Take(bool(allowed), int(count))

    def give_back(self, domain_id: str, day: date, n: int) -> None:
        self._give_back(keys=[self.key(domain_id, day)], args=[n])

    def count(self, domain_id: str, day: date) -> int:
        return int(self.client.get(self.key(domain_id, day)) or 0)


class DatabaseSendCounter:
    # One statement, one round trip: the day's row is made or counted up only while the
    # count stays within the cap. Concurrent senders queue on the row's lock, and each sees
    # the count the one before it left (PostgreSQL re-checks the WHERE after the wait).
    TAKE_SQL = """
        INSERT INTO {table} (domain_id, day, count) VALUES (%s, %s, %s)
        ON CONFLICT (domain_id, day) DO UPDATE SET count = {table}.count + excluded.count
        WHERE {table}.count + excluded.count <= %s
        RETURNING count
    """

    def take(self, domain_id: str, day: date, n: int, cap: int) -> Take:
        from domains.models import SendCount

        if n > cap:
            return Take(False, self.count(domain_id, day))
        sql = self.TAKE_SQL.format(table=connection.ops.quote_name(SendCount._meta.db_table))
        with connection.cursor() as cursor:
            cursor.execute(sql, [domain_id, day, n, cap])
            row = cursor.fetchone()
        if row is None:
            return Take(False, self.count(domain_id, day))
        return Take(True, int(row[0]))

    def give_back(self, domain_id: str, day: date, n: int) -> None:
        from domains.models import SendCount

        SendCount.objects.filter(domain_id=domain_id, day=day, count__gte=n).update(
            count=F("count") - n
        )

    def count(self, domain_id: str, day: date) -> int:
        from domains.models import SendCount

        found = SendCount.objects.filter(domain_id=domain_id, day=day).values_list(
            "count", flat=True
        )
        return next(iter(found), 0)


_counters: dict[str, SendCounter] = {}
_counters_lock = threading.Lock()


def send_counter() -> SendCounter:
    """Redis when configured (one client per process), else the database."""
    url = settings.REDIS_URL
    counter = _counters.get(url)
    if counter is None:
        with _counters_lock:
            counter = _counters.get(url)
            if counter is None:
                counter = RedisSendCounter(url) if url else DatabaseSendCounter()
                _counters[url] = counter
    return counter
