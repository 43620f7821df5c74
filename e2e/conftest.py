"""The e2e suite: written once, run against whichever --platform the session uses."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from e2e.browser import BrowserPages, Unavailable, chromium_or_why
from e2e.browser_thread import BrowserThread
from tf_serving_api.protos import prediction_service_pb2_grpc

BROWSER_PAGES = "browser_pages"


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected: these are the tests that run
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every e2e test needs the provisioned run; requesting it from each keeps the story of
    # a test readable while the expensive part happens once per session.
    for item in items:
        if "mnist_run" not in getattr(item, "fixturenames", ()):
            item.fixturenames.append("mnist_run")  # type: ignore[attr-defined]
    # The browser tests run last, and the first test asks for their pages: Chromium launches
    # while the run provisions and trains, and the pages load while the other tests run, so
    # the two kinds of checks overlap instead of following each other (the stable sort keeps
    # the order within each kind).
    items.sort(key=_in_a_browser)
    if items and _in_a_browser(items[-1]):
        items[0].fixturenames.insert(0, BROWSER_PAGES)  # type: ignore[attr-defined]


def _in_a_browser(item: pytest.Item) -> bool:
    return item.get_closest_marker("browser") is not None


def _browser_indices(session: pytest.Session) -> list[int]:
    """The test digits of the browser tests that run, in their order."""
    indices = []
    for item in session.items:
        callspec = getattr(item, "callspec", None)
        if _in_a_browser(item) and callspec is not None and "index" in callspec.params:
            indices.append(callspec.params["index"])
    return indices


@pytest.fixture(scope="session")
def browser_pages(request: pytest.FixtureRequest, run_artifacts: Path) -> Iterator[BrowserPages]:
    """The browser tests' pages: Chromium launches at once, on a thread of its own, and every
    page starts loading there as soon as the run is up (e2e/browser.py).

    Without a usable Chromium the browser tests skip (or fail, for a bad MNIST_E2E_BROWSER),
    never the test that asked for this first. Teardown closes the browser, every page with
    it, and stops Playwright's driver.
    """
    opener = chromium_or_why()
    browser = opener if isinstance(opener, Unavailable) else BrowserThread(opener)
    try:
        # The run: it provisions and trains while Chromium launches.
        ui_url = request.getfixturevalue("ui_url")
        pages = BrowserPages(browser, ui_url, run_artifacts / "screenshots")
        for index in _browser_indices(request.session):
            pages.load(index)
        yield pages
    finally:
        if isinstance(browser, BrowserThread):
            browser.close()


@pytest.fixture(scope="module")
def stub(model_endpoint: str) -> Iterator[prediction_service_pb2_grpc.PredictionServiceStub]:
    """A raw PredictionService stub, for requests this project's client would never build.

    Teardown closes its channel.
    """
    with grpc.insecure_channel(model_endpoint) as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
