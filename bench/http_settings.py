"""bench/http_load.py's settings: production's, with two routes of its own (see bench/http_urls.py).
Nothing else differs from what `config.settings.production` serves."""

from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.http_urls"
