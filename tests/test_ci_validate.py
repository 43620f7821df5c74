"""`python -m ci.validate`, the one entry tox -e lint calls: passes now, fails on a failure."""

import subprocess
import sys
from pathlib import Path

import ci.validate.__main__ as entry

ROOT = Path(__file__).resolve().parents[1]


def test_all_offline_checks_pass():
    result = subprocess.run(
        [sys.executable, "-m", "ci.validate"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for section in ("manifests", "dockerfile", "pipeline", "protos"):
        assert f"-- {section}: passed" in result.stdout


def test_a_failing_or_crashing_section_fails_the_run(monkeypatch, capsys):
    def crash():
        raise RuntimeError("kubectl vanished")

    monkeypatch.setattr(
        entry, "SECTIONS", [("ok", lambda: 0), ("bad", lambda: 1), ("crash", crash)]
    )
    assert entry.main() == 1
    captured = capsys.readouterr()
    assert "-- ok: passed" in captured.out
    assert "-- bad: FAILED" in captured.out
    assert "-- crash: FAILED" in captured.out
    assert "kubectl vanished" in captured.err
    assert "offline validation failed: bad, crash" in captured.err
