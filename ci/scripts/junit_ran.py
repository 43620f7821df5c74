"""Exit 1 if a JUnit XML report ran no test (all skipped, or none): a nightly that tested
nothing must not look green. With ``--none-skipped``, exit 1 on any skipped test too (a gate
whose every test can run here).
Usage: ``python3 ci/scripts/junit_ran.py [--none-skipped] artifacts/junit-gke.xml``."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def ran(report: Path) -> tuple[int, int]:
    """(tests, skipped) over every testsuite of *report*."""
    root = ET.parse(report).getroot()  # noqa: S314 - our own pytest's output
    suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
    tests = sum(int(s.get("tests", 0)) for s in suites)
    skipped = sum(int(s.get("skipped", 0)) for s in suites)
    return tests, skipped


def main(argv: list[str]) -> int:
    """Print the counts; 1 when nothing ran or the report is missing."""
    strict = "--none-skipped" in argv
    argv = [a for a in argv if a != "--none-skipped"]
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    report = Path(argv[0])
    if not report.is_file():
        print(f"junit_ran: {report} is missing: the suite did not run", file=sys.stderr)
        return 1
    tests, skipped = ran(report)
    print(f"junit_ran: {report}: {tests} tests, {skipped} skipped")
    if strict and skipped:
        print(f"junit_ran: {skipped} skipped where none may be", file=sys.stderr)
        return 1
    return 0 if tests > skipped else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
