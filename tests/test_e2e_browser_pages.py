"""The e2e suite's browser pages: the browser tests run last and the first test asks for their
pages, which load in real headless Chromium on the browser's thread; no Chromium skips only
the browser tests."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from e2e.browser import SCREENSHOT, BrowserPages, Unavailable, chromium_or_why
from e2e.browser_thread import BrowserThread

ORDER = """
import pytest
from e2e.conftest import pytest_collection_modifyitems

@pytest.fixture(scope="session")
def mnist_run():
    print("set up: mnist_run")

@pytest.fixture(scope="session")
def browser_pages():
    print("set up: browser_pages")
"""
TESTS = """
import pytest

@pytest.mark.browser
@pytest.mark.parametrize("index", [0, 7])
def test_in_a_browser(index, browser_pages):
    print("ran: browser", index)

def test_grpc():
    print("ran: grpc")

def test_http():
    print("ran: http")
"""


def _session(pytester: pytest.Pytester, *args: str) -> list[str]:
    pytester.makeconftest(ORDER)
    pytester.makepyfile(test_suite=TESTS)
    pytester.makeini("[pytest]\nmarkers =\n    browser: drives headless Chromium\n")
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", *args)
    # With -s the prints share lines with pytest's progress ("test_suite.py set up: …").
    return [m[0] for line in result.outlines if (m := re.search(r"(ran|set up): .*", line))]


def test_browser_tests_run_last_and_the_first_test_asks_for_their_pages_before_the_run(
    pytester: pytest.Pytester,
) -> None:
    assert _session(pytester) == [
        "set up: browser_pages",
        "set up: mnist_run",
        "ran: grpc",
        "ran: http",
        "ran: browser 0",
        "ran: browser 7",
    ]


def test_without_browser_tests_nobody_asks_for_the_pages(pytester: pytest.Pytester) -> None:
    assert _session(pytester, "-m", "not browser") == [
        "set up: mnist_run",
        "ran: grpc",
        "ran: http",
    ]


PAGE = (
    "<h1>MNIST test digit #0</h1><span id=index>0</span>"
    "<img id=digit src='data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAAAAAA6fptVAAA"
    "ACklEQVR4nGNgAAAAAgABSK+kcQAAAABJRU5ErkJggg=='>"
)


class _Ui(BaseHTTPRequestHandler):
    """Page 0 answers with a digit; any other index is not found."""

    def do_GET(self) -> None:
        found = self.path == "/?index=0"
        body = (PAGE if found else "no such digit").encode()
        self.send_response(HTTPStatus.OK if found else HTTPStatus.NOT_FOUND)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def ui_url() -> Iterator[str]:
    """A page server on a free loopback port. Teardown stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Ui)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.mark.browser
def test_pages_load_in_chromium_on_its_thread_and_stay_open_for_the_checks(
    ui_url: str, tmp_path: Path
) -> None:
    opener = chromium_or_why()
    if isinstance(opener, Unavailable):
        pytest.skip(opener.reason)
    browser = BrowserThread(opener)
    try:
        pages = BrowserPages(browser, ui_url, tmp_path)
        pages.load(0)
        pages.load(7)
        pages.load(0)  # asked for again: still one page
        shown = pages.page(0)
        assert (shown.status, shown.error) == (200, None)
        assert shown.shown is not None
        assert shown.shown["heading"] == "MNIST test digit #0"
        assert shown.shown["image"]["complete"]
        assert (tmp_path / SCREENSHOT).is_file()  # the first index's page is the screenshot
        assert pages.run(lambda: shown.watched.page.url) == f"{ui_url}/?index=0"
        missing = pages.page(7)
        assert (missing.status, missing.shown, missing.error) == (404, None, None)
        assert any("answered 404" in line for line in missing.watched.bad_requests)
        assert pages.run(lambda: len(browser.opened.pages)) == 2  # a page per digit, one context
    finally:
        browser.close()


def test_no_chromium_skips_the_browser_test_that_asks() -> None:
    pages = BrowserPages(Unavailable("no Chromium"), "http://127.0.0.1:1", Path())
    pages.load(0)  # nothing to load with
    with pytest.raises(pytest.skip.Exception, match="no Chromium"):
        pages.page(0)


def test_a_bad_browser_setting_fails_the_browser_test_that_asks() -> None:
    pages = BrowserPages(
        Unavailable("MNIST_E2E_BROWSER='/nope' is not a file", fail=True), "", Path()
    )
    with pytest.raises(pytest.fail.Exception, match="is not a file"):
        pages.page(0)
