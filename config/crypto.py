"""Secrets we must be able to read back (webhook signing secrets, DKIM private keys) are
stored encrypted with Fernet. Keys come from ENCRYPTION_KEYS (comma-separated, newest
first, so old values stay readable while keys rotate); without it, one key is derived
from SECRET_KEY."""

import base64
import hashlib
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


@lru_cache(maxsize=4)
def _box(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        derived = hashlib.sha256(b"domainkeeper-encryption:" + secret_key.encode()).digest()
        keys = (base64.urlsafe_b64encode(derived).decode(),)
    return MultiFernet([Fernet(key.encode()) for key in keys])


def _current_box() -> MultiFernet:
    return _box(tuple(settings.ENCRYPTION_KEYS), settings.SECRET_KEY)


def encrypt(plaintext: str) -> str:
    return _current_box().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current_box().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError(
            "cannot decrypt: the value was sealed with a key we no longer have"
        ) from exc
