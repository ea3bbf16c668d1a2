"""Prefixed ids (`org_…`, `tnt_…`, `dom_…`) for every model that shows its id to users:
the prefix says what an id names, and the random part does not leak counts or order."""

import secrets
import string
from typing import Any

from django.db import models
from django.utils.deconstruct import deconstructible

ALPHABET = string.ascii_letters + string.digits
RANDOM_LENGTH = 20  # 62**20 is about 2**119: collisions are not a concern


def new_prefixed_id(prefix: str) -> str:
    return f"{prefix}_{''.join(secrets.choice(ALPHABET) for _ in range(RANDOM_LENGTH))}"


def random_base62(length: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


@deconstructible
class PrefixedIdDefault:
    """A picklable, migration-serialisable default that mints an id with one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def __call__(self) -> str:
        return new_prefixed_id(self.prefix)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PrefixedIdDefault) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(self.prefix)


class PrefixedIdField(models.CharField):
    """Primary key `<prefix>_<20 base62 chars>`, minted when the object is created."""

    def __init__(self, prefix: str, *args: Any, **kwargs: Any) -> None:
        if not prefix.isalpha() or not prefix.islower():
            raise ValueError(f"prefix must be lowercase letters, got {prefix!r}")
        self.prefix = prefix
        kwargs.setdefault("max_length", len(prefix) + 1 + RANDOM_LENGTH)
        kwargs.setdefault("primary_key", True)
        kwargs["editable"] = False
        kwargs["default"] = PrefixedIdDefault(prefix)
        super().__init__(*args, **kwargs)

    def deconstruct(self) -> tuple[str, str, list[Any], dict[str, Any]]:
        name, path, args, kwargs = super().deconstruct()
        kwargs.pop("default", None)
        kwargs.pop("editable", None)
        kwargs["prefix"] = self.prefix
        if not self.primary_key:  # our default is a primary key; say when it is not
            kwargs["primary_key"] = False
        return name, path, args, kwargs
