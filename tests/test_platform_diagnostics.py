"""Failure diagnostics: pods, events, logs (previous ones too) and the classified cause, found
from the ledger and written redacted to artifacts/<run-id>/diagnostics/ — the parts that need
no cluster. Collecting from real pods, events and logs, and a real failed KFP run's details,
is on the cluster tier: cluster_tests/test_diagnostics_on_cluster.py."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from kubernetes.client import CoreV1Event, V1ObjectMeta, V1ObjectReference

from fixtures.created.kfp_resources import KfpRun
from fixtures.kfp.kfp_api import TOKEN_ENV, KfpEndpoint
from fixtures.ledger import Resource
from fixtures.platforms import diagnostics
from tests.support.kfp_stand_in import run_state, serving

RUN = "mnist-e2e-20261125t120000z-abcd"


def event(reason: str, message: str, minute: int, count: int = 1) -> CoreV1Event:
    return CoreV1Event(
        metadata=V1ObjectMeta(name=f"e{minute}"),
        involved_object=V1ObjectReference(kind="Pod", name="tf-serving-1-x"),
        reason=reason,
        message=message,
        type="Warning",
        count=count,
        last_timestamp=datetime(2026, 11, 25, 12, minute, tzinfo=UTC),
    )


def test_events_read_oldest_first_with_counts() -> None:
    lines = diagnostics.event_lines(
        [event("BackOff", "Back-off pulling", 5, 4), event("Failed", "ErrImagePull", 1)]
    )
    assert lines[0].endswith("Pod/tf-serving-1-x Failed: ErrImagePull")
    assert lines[1].endswith("BackOff: Back-off pulling (x4)")


def test_collect_without_any_cluster_still_writes_what_it_knows(tmp_path: Path) -> None:
    written = diagnostics.collect([Resource("tempdir", "/tmp/x", {"path": "/tmp/x"})], tmp_path)
    assert {p.name for p in written} == {"ledger.json", "failure.txt"}
    assert "no failing pod" in (tmp_path / "failure.txt").read_text()


def test_an_external_kfp_endpoints_token_is_sent_and_kept_out_of_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the KFP stand-in: the real KFP on the cluster tier sits behind a port-forward and
    takes no token, so only the stand-in can show one sent to an external endpoint."""
    token = "kfp-bearer-secret"
    monkeypatch.setenv(TOKEN_ENV, token)
    with serving() as (state, url):
        kfp_run = state.add_run(RUN, run_state("FAILED"))
        entry = KfpRun.entry(RUN, id=kfp_run, endpoint=KfpEndpoint(url=url).to_dict())
        written = diagnostics.collect([entry], tmp_path)
    assert f'"run_id": "{kfp_run}"' in (tmp_path / "kfp-run.json").read_text()
    assert any(r.authorization == f"Bearer {token}" for r in state.requests)
    assert not any(token in p.read_text() for p in written)


class ScriptedLogs:
    """A pod whose log reads answer a script (the last repeats); counts them."""

    def __init__(self, *answers: str) -> None:
        self.answers = list(answers)
        self.reads = 0

    def logs(self, **_options: object) -> str:
        self.reads += 1
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]

    def __str__(self) -> str:
        return "Pod ns/crashing"


def test_a_crash_loops_previous_log_is_read_again_while_the_kubelet_has_none() -> None:
    gone = f"{diagnostics.LOG_GONE}containerd://b897a63c"
    pod = ScriptedLogs(gone, gone, "previous run: the real log\n")
    assert diagnostics.container_log(pod, "main", previous=True) == "previous run: the real log\n"  # type: ignore[arg-type]
    assert pod.reads == 3
    # The current instance's log is what it is; and a log that never comes back says so.
    assert diagnostics.container_log(ScriptedLogs(gone), "main", previous=False) == gone  # type: ignore[arg-type]
    never = diagnostics.container_log(ScriptedLogs(gone), "main", previous=True, timeout=1.0)  # type: ignore[arg-type]
    assert never.startswith("'the log of Pod ns/crashing container main' timed out"), never
    assert "unable to retrieve container logs" in never
