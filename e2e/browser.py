"""The web UI's pages in headless Chromium, for the browser tests (e2e/test_browser.py).

Driven by Playwright with the system's Chromium (Debian's ``chromium`` package, or the binary
named by ``MNIST_E2E_BROWSER``); Playwright's own browser downloads are never used. Chromium
lives on a thread of its own (:mod:`e2e.browser_thread`): it launches while the run provisions
and trains, and each test's page loads there once the run is up, while the tests that need no
browser run (:class:`BrowserPages`); the browser tests then check what their pages showed.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Final

import pytest

from e2e.browser_thread import BrowserThread

BROWSER_ENV: Final = "MNIST_E2E_BROWSER"
BROWSER_NAMES: Final = ("chromium", "chromium-browser", "google-chrome")
# The test digits whose page the browser tests check; the first one's is the run's screenshot.
INDICES: Final = (0, 7, 123)
SCREENSHOT: Final = "web-ui.png"
VIEWPORT: Final = {"width": 900, "height": 600}
TIMEOUT_MS: Final = 30_000


def browser_binary() -> str | None:
    """The Chromium to drive: ``$MNIST_E2E_BROWSER`` if set, else the first on PATH."""
    named = os.environ.get(BROWSER_ENV)
    if named:
        return named
    return next((path for name in BROWSER_NAMES if (path := shutil.which(name))), None)


@dataclass(frozen=True)
class Unavailable:
    """Why the browser tests cannot run here: a skip, or (*fail*) a setting to fix."""

    reason: str
    fail: bool = False


def chromium_or_why() -> Callable[[], AbstractContextManager[Any]] | Unavailable:
    """How to open the browser (:func:`chromium` on the Chromium found), or why it cannot be."""
    binary = browser_binary()
    if binary is None:
        return Unavailable(
            f"no Chromium: none of {', '.join(BROWSER_NAMES)} is on PATH and {BROWSER_ENV} is "
            "unset (install Debian's chromium: apt-get install chromium)"
        )
    if not Path(binary).is_file():
        return Unavailable(f"{BROWSER_ENV}={binary!r} is not a file", fail=True)
    try:
        from playwright import sync_api
    except ImportError:
        return Unavailable("playwright is not installed")
    return partial(chromium, sync_api, binary)


@contextmanager
def chromium(sync_api: Any, binary: str) -> Iterator[Any]:
    """Playwright's driver, headless Chromium and the one browser context every page opens
    in; closing stops all three.

    One context, not one per page: a context's first page cost Chromium about a CPU-second
    of start-up work, later pages in it a tenth of that (measured on 2 cores: the three
    test pages took 3.5 CPU s in three contexts, 1.9 in one), and on a 2-core machine those
    seconds are the browser checks' wall time. The pages share nothing that changes what
    they show: the web UI sets no cookies and keeps nothing in the browser, and each page's
    URL and digit image differ from the others'.
    """
    with sync_api.sync_playwright() as playwright:
        # --no-sandbox: CI runs as root in a container, where Chromium's sandbox cannot start.
        # --disable-background-networking: no update checks or field trials; nothing but
        # the page may use the network.
        launched = playwright.chromium.launch(
            executable_path=binary,
            headless=True,
            args=["--headless", "--no-sandbox", "--disable-background-networking"],
        )
        try:
            yield launched.new_context(viewport=VIEWPORT)
        finally:
            launched.close()


@dataclass
class WatchedPage:
    """A page and everything it reported: console messages, failed and refused requests."""

    page: Any
    console: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    bad_requests: list[str] = field(default_factory=list)
    urls: list[str] = field(default_factory=list)

    def watch(self) -> None:
        """Start listening; call before the first navigation."""
        page = self.page
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))
        page.on("request", lambda request: self.urls.append(request.url))
        page.on(
            "requestfailed",
            lambda request: self.bad_requests.append(
                f"{request.method} {request.url} failed: {request.failure}"
            ),
        )
        page.on("response", self._on_response)

    def _on_console(self, message: Any) -> None:
        where = (message.location or {}).get("url", "")
        line = f"[{message.type}] {message.text}" + (f" ({where})" if where else "")
        self.console.append(line)
        if message.type == "error":
            self.errors.append(line)

    def _on_response(self, response: Any) -> None:
        if response.status >= 400:
            self.bad_requests.append(
                f"{response.request.method} {response.url} answered {response.status}"
            )


def open_page(context: Any) -> WatchedPage:
    """A new page in the browser's *context*, watched; on the browser's thread."""
    page = context.new_page()
    try:
        page.set_default_timeout(TIMEOUT_MS)
        watched = WatchedPage(page)
        watched.watch()
    except BaseException:
        page.close()
        raise
    return watched


def save_evidence(watched: WatchedPage, directory: Path, stem: str) -> list[Path]:
    """Screenshot, DOM and console log of the page as it is now; best effort, each alone."""
    directory.mkdir(parents=True, exist_ok=True)
    saved = []
    console = "\n".join(
        [*watched.console, *watched.errors, *watched.bad_requests, "requests:", *watched.urls]
    )
    (directory / f"{stem}.console.log").write_text(console + "\n", encoding="utf-8")
    saved.append(directory / f"{stem}.console.log")
    # The page may be gone (a crash is one way to fail): keep whatever can still be read.
    try:
        (directory / f"{stem}.html").write_text(watched.page.content(), encoding="utf-8")
        saved.append(directory / f"{stem}.html")
        watched.page.screenshot(path=str(directory / f"{stem}.png"), full_page=True)
        saved.append(directory / f"{stem}.png")
    except Exception as exc:
        (directory / f"{stem}.error.txt").write_text(f"page unreadable: {exc}\n", "utf-8")
    return saved


# Everything the checks need, read from the rendered page in one evaluation.
_READ_PAGE = """() => {
  const img = document.getElementById('digit');
  const text = id => { const e = document.getElementById(id); return e ? e.textContent.trim() : null; };
  const bars = [...document.querySelectorAll('#probabilities > li.bar')].map(li => {
    const fill = li.querySelector('.fill');
    const track = fill ? fill.parentElement : null;
    const style = track ? getComputedStyle(track) : null;
    return {
      digit: Number(li.dataset.digit),
      probability: Number(li.dataset.probability),
      fill: fill ? fill.getBoundingClientRect().width : null,
      fillHeight: fill ? fill.getBoundingClientRect().height : null,
      track: track ? track.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight) : null,
    };
  });
  return {
    image: img ? {complete: img.complete, naturalWidth: img.naturalWidth,
                  naturalHeight: img.naturalHeight, width: img.getBoundingClientRect().width,
                  height: img.getBoundingClientRect().height, src: img.currentSrc} : null,
    truth: text('truth'), prediction: text('prediction'),
    modelVersion: text('model-version'), index: text('index'), bars,
    heading: (document.querySelector('h1') || {textContent: ''}).textContent.trim(),
  };
}"""


def _load(page: Any, url: str) -> int | None:
    """Open *url* in *page*; the status it answered (None: no response). On the browser's thread."""
    response = page.goto(url, wait_until="load")
    return None if response is None else response.status


def _read(page: Any, screenshot: Path | None) -> dict[str, Any]:
    """What the loaded page shows, once its digit has loaded; a screenshot to *screenshot*
    first if given. On the browser's thread."""
    page.wait_for_function("document.getElementById('digit')?.complete === true")
    shown = page.evaluate(_READ_PAGE)
    if screenshot is not None:
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
    return shown


@dataclass
class ShownPage:
    """One test digit's page as the browser loaded it, still open for the checks (and, if one
    fails, for its evidence): the status it answered and what it showed, or what raised."""

    watched: WatchedPage
    status: int | None = None
    shown: dict[str, Any] | None = None  # None unless it answered 200
    error: Exception | None = None


def show(context: Any, url: str, screenshot: Path | None) -> ShownPage:
    """Open *url* in a fresh watched page of *context* and read it (see :class:`ShownPage`);
    on the browser's thread."""
    page = ShownPage(open_page(context))
    try:
        page.status = _load(page.watched.page, url)
        if page.status == 200:
            page.shown = _read(page.watched.page, screenshot)
    except Exception as exc:  # the test raises it, with the page's evidence
        page.error = exc
    return page


class BrowserPages:
    """The browser tests' pages, each loading on the browser's thread from the moment it is
    asked for: all of them as soon as the run is up (e2e/conftest.py), in the order asked.
    Each page stays open until its test closes it; closing the browser closes the rest."""

    def __init__(self, browser: BrowserThread[Any] | Unavailable, ui_url: str, screenshots: Path):
        self.browser = browser
        self.ui_url = ui_url
        self.screenshots = screenshots
        self._loading: dict[int, Future[ShownPage]] = {}

    def load(self, index: int) -> None:
        """Start loading digit *index*'s page (once), without waiting for it."""
        if isinstance(self.browser, BrowserThread) and index not in self._loading:
            screenshot = self.screenshots / SCREENSHOT if index == INDICES[0] else None
            url = f"{self.ui_url}/?index={index}"
            browser = self.browser
            self._loading[index] = browser.submit(lambda: show(browser.opened, url, screenshot))

    def page(self, index: int) -> ShownPage:
        """Digit *index*'s page once loaded; skips (or fails) the test when there is no browser."""
        if isinstance(self.browser, Unavailable):
            if self.browser.fail:
                pytest.fail(self.browser.reason, pytrace=False)
            pytest.skip(self.browser.reason)
        self.load(index)
        return self._loading[index].result()

    def run(self, call: Callable[..., Any], *args: Any) -> Any:
        """``call(*args)`` on the browser's thread (a page's methods may be called only there)."""
        assert isinstance(self.browser, BrowserThread)
        return self.browser.run(call, *args)
