"""The generational cache: what a change forgets is never read again, here or elsewhere."""

from uuid import uuid4

import pytest
from django.core.cache import cache

from config.cache import GenerationalCache

pytestmark = pytest.mark.django_db


def _cache(**options: float) -> GenerationalCache:
    return GenerationalCache(f"test-{uuid4().hex}", seconds=60, **options)


def test_a_reader_between_a_forget_and_its_commit_is_not_remembered(
    django_capture_on_commit_callbacks,
) -> None:
    names = _cache(local_seconds=60)
    row = {"name": "old"}
    names.get("n", lambda: dict(row))

    with django_capture_on_commit_callbacks(execute=True):
        row["name"] = "new"
        names.forget("n")
        # Another reader loaded the row before the change and stores it only now.
        between = names.get("n", lambda: {"name": "old"})
        generation = cache.get(names.generation_key("n"))

    assert between == {"name": "old"}
    assert cache.get(names.generation_key("n")) == generation + 1
    assert names.get("n", lambda: dict(row)) == {"name": "new"}


def test_a_value_is_read_under_the_keys_the_cache_names() -> None:
    names = _cache()
    cache.set(names.generation_key("n"), 3)
    cache.set(names.value_key("n", 3), {"name": "shared"})

    assert names.get("n", lambda: {"name": "loaded"}) == {"name": "shared"}


def test_forgetting_many_names_moves_each_to_its_next_generation(monkeypatch) -> None:
    # On Redis (the PostgreSQL run) one pipelined INCR each; the counters must still read
    # back as the ints `get` looks values up under, and a name never read starts at 1.
    names = _cache()
    rows = {"a": {"v": 1}, "b": {"v": 1}, "c": {"v": 1}}
    for name in ("a", "b"):
        names.get(name, lambda name=name: dict(rows[name]))
    cache.set(names.generation_key("b"), 41)
    for row in rows.values():
        row["v"] = 2

    names.forget_many(["a", "b", "c"])

    generations = [cache.get(names.generation_key(n)) for n in ("a", "b", "c")]
    assert generations == [1, 42, 1]
    assert all(type(g) is int for g in generations)
    assert [names.get(n, lambda n=n: dict(rows[n])) for n in ("a", "b", "c")] == [{"v": 2}] * 3
    monkeypatch.setattr(
        "config.cache._next_generations", lambda keys: pytest.fail("a round trip for nothing")
    )
    names.forget_many([])
