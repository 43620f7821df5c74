"""The web UI in headless Chromium: the page a person sees loads whole and agrees with gRPC.

Driven by Playwright with the system's Chromium (Debian's ``chromium`` package, or the binary
named by ``MNIST_E2E_BROWSER``); Playwright's own browser downloads are never used. Every run
saves ``screenshots/web-ui.png`` in the run's artifacts; a failing check also saves the page's
DOM and console log beside it.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from e2e.browser_thread import BrowserThread

if TYPE_CHECKING:
    from fixtures.run_record import RunInfo

pytestmark = pytest.mark.browser

BROWSER_ENV = "MNIST_E2E_BROWSER"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")
INDICES = [0, 7, 123]
VIEWPORT = {"width": 900, "height": 600}
TIMEOUT_MS = 30_000
# A bar may be off by rounding to whole pixels, plus the 0.01% the page rounds widths to.
BAR_TOLERANCE_PX = 1.5


def browser_binary() -> str | None:
    """The Chromium to drive: ``$MNIST_E2E_BROWSER`` if set, else the first on PATH."""
    named = os.environ.get(BROWSER_ENV)
    if named:
        return named
    return next((path for name in BROWSER_NAMES if (path := shutil.which(name))), None)


@contextmanager
def _chromium(sync_api: Any, binary: str) -> Iterator[Any]:
    """Playwright's driver and headless Chromium; closing stops both."""
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
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[BrowserThread[Any]]:
    """Headless Chromium, launched once per test process on a thread of its own: the launch
    goes on while the run provisions and trains (e2e/browser_thread.py says why).

    Teardown closes the browser and stops Playwright's driver.
    """
    binary = browser_binary()
    if binary is None:
        pytest.skip(
            f"no Chromium: none of {', '.join(BROWSER_NAMES)} is on PATH and {BROWSER_ENV} is "
            "unset (install Debian's chromium: apt-get install chromium)"
        )
    if not Path(binary).is_file():
        pytest.fail(f"{BROWSER_ENV}={binary!r} is not a file", pytrace=False)
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    thread = BrowserThread(partial(_chromium, sync_api, binary))
    try:
        yield thread
    finally:
        thread.close()


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


def _open_page(browser: Any) -> WatchedPage:
    """A page in a context of its own, watched; on the browser's thread."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        watched = WatchedPage(page)
        watched.watch()
    except BaseException:
        context.close()
        raise
    return watched


@pytest.fixture
def watched_page(browser: BrowserThread[Any], mnist_run: RunInfo) -> Iterator[WatchedPage]:
    """A fresh page (own context: no cache or cookies shared) that records what it reports.

    Teardown closes the page's context.
    """
    # mnist_run first: the first page then opens once the run is up, and Chromium launches
    # while the run provisions instead of holding provisioning back.
    watched = browser.run(_open_page, browser.opened)
    try:
        yield watched
    finally:
        browser.run(lambda: watched.page.context.close())


def _save_evidence(watched: WatchedPage, directory: Path, stem: str) -> list[Path]:
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


def check_bars(bars: list[dict[str, Any]]) -> None:
    """Ten bars, one per digit, drawn with widths monotone in and proportional to probability."""
    __tracebackhide__ = True
    assert sorted(b["digit"] for b in bars) == list(range(10)), (
        f"expected one bar per digit 0-9, got digits {[b['digit'] for b in bars]}"
    )
    assert sum(b["probability"] for b in bars) == pytest.approx(1.0, abs=1e-4), (
        f"bar probabilities sum to {sum(b['probability'] for b in bars)}, not 1"
    )
    assert all(b["fill"] is not None and b["track"] for b in bars), (
        f"a bar has no .fill inside a sized track: {bars}"
    )
    by_probability = sorted(bars, key=lambda b: b["probability"])
    for lower, higher in itertools.pairwise(by_probability):
        assert lower["fill"] <= higher["fill"] + BAR_TOLERANCE_PX, (
            f"bar {higher['digit']} (p={higher['probability']}) is drawn {higher['fill']:.1f}px "
            f"wide, narrower than bar {lower['digit']} (p={lower['probability']}, "
            f"{lower['fill']:.1f}px)"
        )
    for bar in bars:
        expected = bar["probability"] * bar["track"]
        assert abs(bar["fill"] - expected) <= BAR_TOLERANCE_PX, (
            f"bar {bar['digit']}: p={bar['probability']} of a {bar['track']:.1f}px track should "
            f"be {expected:.1f}px wide, is drawn {bar['fill']:.1f}px"
        )
    tallest = by_probability[-1]
    assert tallest["fill"] > 0 and tallest["fillHeight"] > 0, (
        f"the most likely digit's bar is not visible: {tallest}"
    )


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


@pytest.mark.parametrize("index", INDICES)
def test_page_in_a_browser(
    browser, watched_page, ui_url, index, predict_client, mnist_test_digits, run_artifacts
):
    screenshots = run_artifacts / "screenshots"
    page = watched_page.page
    try:
        status = browser.run(_load, page, f"{ui_url}/?index={index}")
        assert status == 200, f"GET {ui_url}/?index={index} answered {status}"
        screenshot = screenshots / "web-ui.png" if index == INDICES[0] else None
        shown = browser.run(_read, page, screenshot)

        image = shown["image"]
        assert image is not None, "no <img id=digit> on the page"
        assert image["complete"] and (image["naturalWidth"], image["naturalHeight"]) == (28, 28), (
            f"digit image {image['src']} did not load as a 28x28 picture: {image}"
        )
        assert image["width"] > 28 and image["height"] > 28, f"digit drawn too small: {image}"

        check_bars(shown["bars"])

        grpc_answer = predict_client.predict(mnist_test_digits.images[index : index + 1])
        assert shown["index"] == str(index)
        # The index is a position in the test set, not the digit drawn: "#5", not "5".
        assert shown["heading"] == f"MNIST test digit #{index}", shown["heading"]
        assert shown["prediction"] == str(int(grpc_answer.classes[0])), (
            f"page shows prediction {shown['prediction']}, gRPC says {grpc_answer.classes[0]}"
        )
        assert shown["truth"] == str(int(mnist_test_digits.labels[index]))
        assert shown["modelVersion"] == str(grpc_answer.model_version)
        most_likely = max(shown["bars"], key=lambda b: b["probability"])
        assert most_likely["digit"] == int(grpc_answer.classes[0]), (
            f"longest bar is digit {most_likely['digit']}, prediction {grpc_answer.classes[0]}"
        )

        assert not watched_page.bad_requests, f"requests failed: {watched_page.bad_requests}"
        assert not watched_page.errors, f"console errors: {watched_page.errors}"
        foreign = [url for url in watched_page.urls if not url.startswith(ui_url)]
        assert not foreign, f"the page fetched from elsewhere than the UI: {foreign}"
    except BaseException:
        saved = browser.run(
            _save_evidence, watched_page, screenshots, f"web-ui-index-{index}-failure"
        )
        print("evidence of the failure:", *map(str, saved), sep="\n  ")
        raise
