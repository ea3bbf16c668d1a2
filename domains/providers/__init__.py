"""Where a sending domain's identity lives. One small interface, two implementations:
`ses` (Amazon SES through SESv2) and `local` (our own DKIM keys and DNS checks)."""

from domains.providers.base import (
    Provider,
    ProviderConflict,
    ProviderError,
    ProviderMissing,
    ProviderStatus,
    ProviderUnavailable,
)


def get_provider(name: str) -> Provider:
    if name == "ses":
        from domains.providers.ses import SesProvider

        return SesProvider()
    if name == "local":
        from domains.providers.local import LocalProvider

        return LocalProvider()
    raise ValueError(f"unknown email provider {name!r}")


__all__ = [
    "Provider",
    "ProviderConflict",
    "ProviderError",
    "ProviderMissing",
    "ProviderStatus",
    "ProviderUnavailable",
    "get_provider",
]
