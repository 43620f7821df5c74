"""e2e sessions write JUnit XML by default and do without Hypothesis's plugin; the harness's
own test sessions do not. The run's report.html: phases and their timeline, the confusion
matrix, misclassified digits."""

from pathlib import Path

import numpy as np

from fixtures import prediction_log, report
from fixtures.digit_pictures import DigitPictures
from fixtures.phases import Phase, PhaseClock
from fixtures.plugin import HYPOTHESIS_PLUGIN

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


HYPOTHESIS_REGISTERED = f"""
def test_hypothesis_plugin(request):
    print("hypothesis plugin:", request.config.pluginmanager.has_plugin({HYPOTHESIS_PLUGIN!r}))
"""


def test_an_e2e_session_does_without_hypothesis_plugin(pytester):
    pytester.mkdir("e2e")
    pytester.makepyfile(**{"e2e/test_one": HYPOTHESIS_REGISTERED})
    result = _run(pytester, "e2e", "-s")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*hypothesis plugin: False*"])


def test_a_session_with_other_tests_beside_e2e_keeps_hypothesis_plugin(pytester):
    pytester.mkdir("e2e")
    pytester.makepyfile(**{"e2e/test_one": TEST, "test_two": HYPOTHESIS_REGISTERED})
    result = _run(pytester, "e2e", "test_two.py", "-s")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*hypothesis plugin: True*"])


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


FAILURE = """    def test_accuracy(predictions):
>       assert accuracy >= 0.93, f"accuracy {accuracy} is below --min-accuracy 0.93"
E       AssertionError: accuracy 0.6667 is below --min-accuracy 0.93
E       assert 0.6667 >= 0.93

e2e/test_grpc.py:40: AssertionError"""


def test_a_failed_report_puts_the_cause_first_then_the_gate_and_the_tests(tmp_path):
    (tmp_path / "ledger.jsonl.lock").write_text("")
    (tmp_path / "ledger.jsonl").write_text("")
    summary = {
        "run_id": "r",
        "platform": "local",
        "options": {"model_type": "cnn", "min_accuracy": 0.93},
        "failures": [{"nodeid": "e2e/test_grpc.py::test_accuracy", "message": FAILURE}],
        "tests": [
            {"nodeid": "e2e/test_grpc.py::test_accuracy", "outcome": "failed", "seconds": 1.25},
            {"nodeid": "e2e/test_web_ui.py::test_health", "outcome": "passed", "seconds": 0.5},
        ],
        "junit": str(tmp_path.parent / "junit-local.xml"),
    }
    labels = np.array([7, 2, 1, 0, 4, 1])
    classes = np.array([7, 2, 1, 6, 4, 7])
    prediction_log.write(tmp_path, labels, classes, np.eye(10)[classes])
    page = report.render(summary, PhaseClock([Phase("train", 0.0, 1.0, True)]), tmp_path)
    cause = (
        "<b>e2e/test_grpc.py::test_accuracy</b>: AssertionError: accuracy 0.6667 is below"
        " --min-accuracy 0.93 assert 0.6667 &gt;= 0.93"
    )
    assert cause in page
    gate = "gRPC accuracy 0.6667 on 6 test digits; threshold --min-accuracy 0.93: NOT MET"
    assert gate in page
    # The cause before the numbers, the numbers before pytest's source and locals.
    assert page.index(cause) < page.index(gate) < page.index("def test_accuracy(predictions)")
    assert "<td>e2e/test_web_ui.py::test_health</td><td class='ok'>passed</td>" in page
    assert "<td class='num'>1.25</td>" in page
    assert "<a href='../junit-local.xml'>../junit-local.xml</a>" in page
    assert "ledger.jsonl.lock" not in page and ">ledger.jsonl</a>" in page


def test_a_green_report_shows_the_gate_it_passed(tmp_path):
    page = _page(tmp_path)
    assert "threshold --min-accuracy" not in page  # no threshold in these options: no line
    summary = {"run_id": "r", "platform": "local", "options": {"min_accuracy": 0.5}}
    page = report.render(summary, PhaseClock(), tmp_path)
    assert "gRPC accuracy 0.6667 on 6 test digits; threshold --min-accuracy 0.5: met" in page


def test_an_e2e_session_links_its_junit_and_prints_the_accuracy_line(pytester):
    pytester.mkdir("e2e")
    pytester.makepyfile(
        **{
            "e2e/test_one": """
import numpy as np
from fixtures import prediction_log

def test_one(run_artifacts):
    (run_artifacts / "ledger.jsonl").write_text("")  # a run with nothing to tear down
    prediction_log.write(run_artifacts, np.array([1, 2]), np.array([1, 2]), np.eye(10)[[1, 2]])
"""
        }
    )
    result = pytester.runpytest(
        "-p",
        "fixtures.plugin",
        "-p",
        "fixtures.e2e_fixtures",
        "--artifacts-dir",
        "out",
        "--local-storage",
        "pvc",
        "--model-type",
        "linear",
        "--min-accuracy",
        "0.5",
        "e2e",
    )
    result.stdout.fnmatch_lines(
        ["*gRPC accuracy 1.0000 on 2 test digits; threshold --min-accuracy 0.5: met*"]
    )
    (page,) = Path(pytester.path, "out").glob("mnist-e2e-*/report.html")
    assert "<a href='junit.xml'>junit.xml</a>" in page.read_text()
