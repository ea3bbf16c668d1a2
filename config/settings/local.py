"""Laptop settings: `make run` uses these. SQLite, console email, no Redis needed."""

from config.settings.base import *  # noqa: F403
from config.settings.base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
