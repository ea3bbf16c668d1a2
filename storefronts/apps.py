from django.apps import AppConfig


class StorefrontsConfig(AppConfig):
    name = "storefronts"
    verbose_name = "Storefronts"

    def ready(self) -> None:
        from storefronts import signals  # noqa: F401 - clears cached host answers
