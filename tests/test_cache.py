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
