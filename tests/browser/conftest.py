"""Browser tests: Playwright driving Debian's Chromium headless against the live test server.

The browser is `/usr/bin/chromium` (or `CHROMIUM_PATH`); Playwright never downloads one.
Without it these tests skip, except on CI, where a missing browser is an error. Screenshots
of the key pages go to `artifacts/screenshots/` (or `ARTIFACTS_DIR`)."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from accounts.models import User
from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", Path(__file__).resolve().parents[2] / "artifacts"))


def _chromium_missing_reason() -> str | None:
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (`make install-dev` installs it)"
    else:
        if Path(CHROMIUM).exists():
            return None
        reason = f"no Chromium at {CHROMIUM} (`apt-get install chromium` installs it)"
    if os.environ.get("CI") == "true":
        raise RuntimeError(f"CI must run the browser tests: {reason}")
    return reason


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Per module, not per session: Playwright's sync API keeps an event loop running in
    this thread while it is open, and every later test that calls asyncio.run() (the DNS
    checks do) would fail next to it."""
    reason = _chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    # The test's own ORM calls are plain synchronous code, which Django refuses next to a
    # running loop. Only while the browser is open: the variable must not leak into other
    # tests (`check --deploy` rejects it).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            launched = playwright.chromium.launch(
                executable_path=CHROMIUM,
                headless=True,
                # Root in a container has no user namespaces for Chromium's sandbox.
                args=["--no-sandbox", "--disable-dev-shm-usage"],
            )
            yield launched
            launched.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    """A fresh browser context (no cookies) that may read and write the clipboard."""
    context = browser.new_context(
        base_url=live_server.url,
        permissions=["clipboard-read", "clipboard-write"],
        viewport={"width": 1280, "height": 900},
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def sign_in(page, user: User, password: str = PASSWORD) -> None:
    """Through the real sign-in form, as a person would."""
    page.goto("/login/")
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/login/" not in url)


def overflowing(page) -> list[str]:
    """Elements of the page's main part that reach past the right edge of the window."""
    return page.evaluate(
        """[...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > window.innerWidth)
            .map(e => e.tagName + '.' + e.className + ' ' + e.getBoundingClientRect().right)"""
    )


def screenshot(page, name: str) -> Path:
    """A full-page screenshot kept as a test artifact."""
    ARTIFACTS.joinpath("screenshots").mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / "screenshots" / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
