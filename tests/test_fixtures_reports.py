"""e2e sessions write JUnit XML by default; the harness's own test sessions do not."""

from pathlib import Path

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
