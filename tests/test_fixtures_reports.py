"""e2e sessions write JUnit XML by default; the harness's own test sessions do not. The run's
report.html: phases and their timeline, the confusion matrix, misclassified digits."""

from pathlib import Path

import numpy as np

from fixtures import prediction_log, report
from fixtures.digit_pictures import DigitPictures
from fixtures.phases import Phase, PhaseClock

TEST = """
def test_one(tmp_path):
    assert tmp_path.is_dir()
"""


def _run(pytester, *args):
    return pytester.runpytest("-p", "fixtures.plugin", "--artifacts-dir", "out", *args)


def test_an_e2e_session_writes_junit_into_the_run_dir(pytester):
    pytester.mkdir("e2e")
    pytester.makepyfile(**{"e2e/test_one": TEST})
    result = _run(pytester, "e2e")
    result.assert_outcomes(passed=1)
    (junit,) = Path(pytester.path, "out").glob("mnist-e2e-*/junit.xml")
    assert 'tests="1"' in junit.read_text()


def test_an_explicit_junitxml_wins(pytester):
    pytester.mkdir("e2e")
    pytester.makepyfile(**{"e2e/test_one": TEST})
    _run(pytester, "e2e", "--junitxml", "mine.xml").assert_outcomes(passed=1)
    assert (pytester.path / "mine.xml").exists()
    assert not list(Path(pytester.path, "out").glob("*/junit.xml"))


def test_other_sessions_write_no_junit(pytester):
    pytester.makepyfile(test_one=TEST)
    _run(pytester).assert_outcomes(passed=1)
    assert not list(pytester.path.rglob("junit.xml"))


# -- report.html ---------------------------------------------------------------------------


def _page(tmp_path, **kwargs):
    labels = np.array([7, 2, 1, 0, 4, 1])
    classes = np.array([7, 2, 1, 6, 4, 7])  # digits 3 and 5 wrong
    prediction_log.write(tmp_path, labels, classes, np.eye(10)[classes])
    clock = PhaseClock([Phase("provision", 0.0, 0.5, True), Phase("train", 0.5, 30.0, True)])
    summary = {"run_id": "r", "platform": "local", "options": {"model_type": "cnn"}}
    return report.render(summary, clock, tmp_path, pictures=DigitPictures(None), **kwargs)


def test_the_report_draws_the_confusion_matrix_and_the_misclassified_digits(tmp_path):
    page = _page(tmp_path)
    assert "gRPC predictions of 6 test digits: accuracy 0.6667" in page
    assert "Misclassified: 2 digits" in page
    assert "#3: 0→6" in page and "#5: 1→7" in page
    assert page.count("data:image/png;base64,") == 2  # the shipped sample's digits 3 and 5
    assert "<svg" in page  # the phase timeline


def test_the_report_flags_phases_and_places_the_history_after_them(tmp_path):
    page = _page(
        tmp_path,
        phase_notes={"train": "OVER BUDGET (1.00s, --phase-budget)"},
        sections=["<h2>History</h2>"],
    )
    assert "ok — OVER BUDGET (1.00s, --phase-budget)</td>" in page
    assert page.index("<h2>Phases</h2>") < page.index("<h2>History</h2>")
    assert page.index("<h2>History</h2>") < page.index("gRPC predictions")
