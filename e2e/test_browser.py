"""The web UI in headless Chromium: the page a person sees loads whole and agrees with gRPC.

Driven by Playwright with the system's Chromium (Debian's ``chromium`` package, or the binary
named by ``MNIST_E2E_BROWSER``); Playwright's own browser downloads are never used. The pages
load on the browser's own thread while the other tests run, and these tests, run last, check
what they showed (e2e/browser.py). Every run saves ``screenshots/web-ui.png`` in the run's
artifacts; a failing check also saves the page's DOM and console log beside it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from e2e.browser import INDICES, BrowserPages, ShownPage, save_evidence

pytestmark = pytest.mark.browser

# A bar may be off by rounding to whole pixels, plus the 0.01% the page rounds widths to.
BAR_TOLERANCE_PX = 1.5


@pytest.fixture
def shown_page(browser_pages: BrowserPages, index: int) -> Iterator[ShownPage]:
    """Digit *index*'s page as the browser loaded it, with everything it reported.

    Teardown closes the page.
    """
    page = browser_pages.page(index)
    try:
        yield page
    finally:
        browser_pages.run(lambda: page.watched.page.close())


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


@pytest.mark.parametrize("index", INDICES)
def test_page_in_a_browser(
    shown_page, browser_pages, ui_url, index, predict_client, mnist_test_digits, run_artifacts
):
    screenshots = run_artifacts / "screenshots"
    watched = shown_page.watched
    try:
        if shown_page.error is not None:
            raise shown_page.error
        assert shown_page.status == 200, f"GET {ui_url}/?index={index} answered {shown_page.status}"
        shown = shown_page.shown

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

        assert not watched.bad_requests, f"requests failed: {watched.bad_requests}"
        assert not watched.errors, f"console errors: {watched.errors}"
        foreign = [url for url in watched.urls if not url.startswith(ui_url)]
        assert not foreign, f"the page fetched from elsewhere than the UI: {foreign}"
    except BaseException:
        saved = browser_pages.run(
            save_evidence, watched, screenshots, f"web-ui-index-{index}-failure"
        )
        print("evidence of the failure:", *map(str, saved), sep="\n  ")
        raise
