"""A real browser for page tests: Debian's Chromium driven by Playwright, never a download.

A test module registers this plugin with `pytest_plugins = ["browser"]` and asks for the
fixtures (chromium, browser, page, console; phone, phone_console for a phone's screen); it must
not import this module itself (types under TYPE_CHECKING only), or pytest cannot load it as a
plugin. Where Chromium is missing and we are root with apt-get, the first test installs Debian's
`chromium` and a Chinese font, so the README's test command alone gives CI a browser; elsewhere
the tests are skipped with the reason (and fail under CI, which must run them).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    ViewportSize,
    async_playwright,
)

PACKAGES = ("chromium", "fonts-wqy-microhei")
FONT_PACKAGE = "fonts-wqy-microhei"
_PLACES = ("/usr/bin/chromium", "/usr/lib/chromium/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP: ViewportSize = {"width": 1440, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}


def find_chromium() -> str | None:
    """The system's Chromium, if there is one."""
    found = shutil.which("chromium")
    if found:
        return found
    return next((p for p in _PLACES if os.access(p, os.X_OK)), None)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Give browser tests time for the first one to install Chromium, when it must."""
    if find_chromium() is not None:
        return
    for item in items:
        if "chromium" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.timeout(900))


def _apt_install(*packages: str) -> bool:
    """apt-get install as root; `apt-get update` first only if the install fails."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", *packages]

    def run(command: list[str]) -> bool:
        try:
            done = subprocess.run(command, env=env, capture_output=True, timeout=800, check=False)
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0

    return run(install) or (run(["apt-get", "update"]) and run(install))


def _has_chinese_font() -> bool:
    if shutil.which("fc-list") is None:
        return True  # cannot tell; the page renders either way
    listed = subprocess.run(
        ["fc-list", ":lang=zh", "family"], capture_output=True, text=True, check=False
    )
    return bool(listed.stdout.strip())


@pytest.fixture(scope="session")
def chromium() -> str:
    """The path of Debian's Chromium, installed if we may; skip (fail under CI) if not."""
    path = find_chromium()
    if path is None and _apt_install(*PACKAGES):
        path = find_chromium()
    if path is None:
        reason = (
            "no Chromium for the browser tests: install Debian's chromium and fonts-wqy-microhei"
            " (apt-get install --no-install-recommends chromium fonts-wqy-microhei), or run the"
            " tests as root where apt-get can"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    if not _has_chinese_font():
        _apt_install(FONT_PACKAGE)  # for screenshots a person can read; the tests pass without
    return path


@pytest.fixture(scope="session")
async def browser(chromium: str) -> AsyncIterator[Browser]:
    """One headless Chromium for the session; each test opens its own context."""
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def phone(browser: Browser) -> AsyncIterator[Page]:
    """A fresh tab (own storage) on a phone: its screen, touch and pixel density, in China."""
    context = await browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="zh-CN",
        timezone_id="Asia/Shanghai",
    )
    context.set_default_timeout(10_000)
    tab = await context.new_page()
    try:
        yield tab
    finally:
        await context.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    """A fresh tab (own storage) on a projector-sized screen, in China's time zone."""
    context = await browser.new_context(
        viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai"
    )
    context.set_default_timeout(10_000)
    tab = await context.new_page()
    try:
        yield tab
    finally:
        await context.close()


@dataclass
class Console:
    """What the page complained about: console errors (CSP refusals among them), exceptions."""

    errors: list[str] = field(default_factory=list)

    def problems(self, *expected: str) -> list[str]:
        """The errors that contain none of the `expected` fragments."""
        return [e for e in self.errors if not any(x in e for x in expected)]


def _watch(tab: Page) -> Console:
    """Collect a tab's errors from now on."""
    seen = Console()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            seen.errors.append(message.text)

    def on_error(error: Error) -> None:
        seen.errors.append(f"uncaught: {error.message}")

    tab.on("console", on_console)
    tab.on("pageerror", on_error)
    return seen


@pytest.fixture
def console(page: Page) -> Console:
    """Collects the page's errors from before its first navigation."""
    return _watch(page)


@pytest.fixture
def phone_console(phone: Page) -> Console:
    """Collects the phone tab's errors from before its first navigation."""
    return _watch(phone)
