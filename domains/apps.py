from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "domains"
    verbose_name = "Sending domains"

    def ready(self) -> None:
        from domains import signals  # noqa: F401 - keeps the send path's cache current
