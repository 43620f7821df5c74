import pytest

from fixtures.waits import NotReady, WaitFailed, wait_until


def test_returns_once_the_probe_passes():
    calls = []

    def probe():
        calls.append(1)
        if len(calls) < 3:
            raise NotReady("warming up")
        return "ready"

    assert wait_until("thing", probe, timeout=5) == "ready"
    assert len(calls) == 3


def test_deadline_error_names_the_wait_and_the_last_reason():
    def probe():
        raise NotReady("port 9 refused")

    with pytest.raises(WaitFailed, match=r"model server: not ready after .*port 9 refused"):
        wait_until("model server", probe, timeout=0.3)


def test_fatal_condition_fails_at_once():
    with pytest.raises(WaitFailed, match="train exited with code 1"):
        wait_until("train", lambda: None, timeout=60, fatal=lambda: "train exited with code 1")


def test_unexpected_errors_are_not_retried():
    calls = []

    def probe():
        calls.append(1)
        raise ValueError("bug")

    with pytest.raises(ValueError, match="bug"):
        wait_until("x", probe, timeout=5)
    assert len(calls) == 1


def test_until_polls_a_condition_and_names_it_when_it_never_holds():
    from fixtures.waits import until

    answers = iter([False, 0, "yes"])
    until("flag set", lambda: next(answers), timeout=5, max_interval=0.01)
    with pytest.raises(WaitFailed, match="log has 'ready': not ready after"):
        until("log has 'ready'", lambda: False, timeout=0.2, max_interval=0.01)
