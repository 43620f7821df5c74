"""Waiting on a KFP run while the KFP API is away (fixtures/kfp/run_poll.py), against the
KFP API stand-in (tests/support/kfp_stand_in.py) and a port nothing listens on: an API server
restarting behind its port-forward answers 503s or refuses connections, on no schedule a real
KFP can be made to keep. The real API server pod deleted under a real run is the cluster
tier's (cluster_tests/test_kfp_faults.py)."""

from __future__ import annotations

import pytest

from fixtures.kfp.kfp_api import KfpApi
from fixtures.kfp.run_poll import RunPoller, api_away_reason
from fixtures.ports import free_port
from kubekit.exceptions import ActionFailed, Forbidden
from tests.support.kfp_stand_in import run_state, serving

RUNS = "/apis/v2beta1/runs"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_last_answer_is_kept_while_the_api_answers_5xx_and_the_outage_is_logged() -> None:
    notes: list[str] = []
    clock = Clock()
    with serving() as (state, host):
        kfp_run = state.add_run("r", run_state("RUNNING"), run_state("SUCCEEDED"))
        api = KfpApi(host)  # its retries would hide a 503 each; the poller asks once
        try:
            poller = RunPoller(api, kfp_run, every=10.0, note=notes.append, clock=clock)
            assert poller.current().state == "RUNNING"
            clock.now += 5  # within the poll interval: not asked again
            assert poller.current().state == "RUNNING"
            assert len(state.calls("GET", f"{RUNS}/{kfp_run}")) == 1
            for _ in range(3):  # the API server restarting: every get answered 503
                state.fail_once("GET", f"{RUNS}/{kfp_run}", 503)
                clock.now += 10
                assert poller.current().state == "RUNNING"  # the last answer, not an error
            assert poller.away_for() == 20.0
            clock.now += 10
            assert poller.current().state == "SUCCEEDED"  # back: the real outcome
        finally:
            api.close()
    assert poller.outages == [30.0] and poller.away_since is None
    assert len(notes) == 2, notes
    assert notes[0].startswith("KFP API unreachable (the server or a proxy") and "503" in notes[0]
    assert notes[1] == f"KFP API back after 30s away; run {kfp_run} is SUCCEEDED"


def test_a_refused_connection_before_the_first_answer_gives_no_run_yet() -> None:
    notes: list[str] = []
    api = KfpApi(f"http://127.0.0.1:{free_port()}", attempts=1)  # nothing listens there
    try:
        poller = RunPoller(api, "r", every=0.0, note=notes.append)
        assert poller.current() is None
        assert poller.current() is None
    finally:
        api.close()
    assert poller.away_since is not None and len(notes) == 1, notes
    assert "connection was reset or refused" in notes[0], notes


def test_an_answer_to_act_on_is_raised_not_ridden_through() -> None:
    with serving() as (state, host):
        kfp_run = state.add_run("r", run_state("RUNNING"))
        state.fail_once("GET", f"{RUNS}/{kfp_run}", 403)
        api = KfpApi(host, attempts=3)
        try:
            poller = RunPoller(api, kfp_run, every=0.0, note=lambda _line: None)
            with pytest.raises(Forbidden) as caught:
                poller.current()
        finally:
            api.close()
    assert api_away_reason(caught.value) is None
    assert poller.away_since is None


def test_api_away_reason_reads_the_cause_of_a_retried_failure() -> None:
    refused = ConnectionRefusedError(111, "Connection refused")
    failed = ActionFailed("'get KFP run r' unsuccessful after 5 attempts")
    failed.__cause__ = refused
    assert api_away_reason(failed) == api_away_reason(refused) is not None
    assert api_away_reason(ActionFailed("no cause")) is None
