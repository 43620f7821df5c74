"""Run records built in tests, for the run history's rules, database and report: a test names
only what it is about (a phase's seconds, a test's outcome, a probe's class)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fixtures.history.records import GREEN, Probe, RunRecord, TestResult

SHA = "0123456789abcdef0123456789abcdef01234567"
OPTIONS = {"model_type": "cnn", "train_steps": 200}
PHASES = {"provision": 0.4, "train": 20.0, "serve ready": 20.0, "assertions": 3.0}


def run(
    n: int,
    *,
    outcome: str = GREEN,
    phases: Mapping[str, float] | None = None,
    accuracy: float | None = 0.96,
    tests: Mapping[str, str] | None = None,
    classes: Sequence[int] | None = None,
    sha: str | None = SHA,
    platform: str = "local",
    options: Mapping[str, Any] | None = None,
) -> RunRecord:
    """The *n*-th run (later *n*, later start): green, the phases above, two passing tests
    and ten probe digits predicted as their own index unless told otherwise."""
    return RunRecord(
        run_id=f"mnist-e2e-20261201t12{n:02d}00z-abcd",
        started_at=1_764_590_400.0 + 60 * n,
        platform=platform,
        options=dict(options if options is not None else OPTIONS),
        git_sha=sha,
        outcome=outcome,
        wall_seconds=30.0,
        phases=dict(phases if phases is not None else PHASES),
        accuracy=accuracy,
        images={"project": "mnist-e2e:0123456789ab@sha256:feed"},
        tests=tuple(
            TestResult(nodeid, result, 0.5)
            for nodeid, result in (
                tests or {"e2e/a.py::one": "passed", "e2e/a.py::two": "passed"}
            ).items()
        ),
        probes=tuple(
            Probe(i, c, 0.9) for i, c in enumerate(classes if classes is not None else range(10))
        ),
    )
