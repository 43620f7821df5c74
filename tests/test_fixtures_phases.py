import pytest

from fixtures.phases import PhaseClock


def test_table_lists_phases_with_offsets_and_total():
    clock = PhaseClock()
    clock.start("provision", at=100.0)
    clock.end("provision", at=101.5)
    clock.start("train", at=101.5)
    clock.start("serve ready", at=101.6)
    clock.end("train", at=130.0)
    clock.end("serve ready", ok=False, at=131.0)
    table = clock.table()
    assert "provision" in table and "1.50" in table
    assert "FAILED" in table
    assert "31.00" in table  # total wall, from the first start to the last end


def test_phase_block_marks_failure_and_reraises():
    clock = PhaseClock()
    with pytest.raises(RuntimeError), clock.phase("teardown"):
        raise RuntimeError("boom")
    assert clock.phases[0].ok is False and clock.phases[0].seconds is not None


def test_json_round_trip(tmp_path):
    clock = PhaseClock()
    clock.start("train", at=1.0)
    clock.end("train", at=3.0)
    clock.start("ui ready", at=2.0)
    path = clock.write_json(tmp_path / "phases.json")
    import json

    again = PhaseClock.from_json(json.loads(path.read_text()))
    assert again.phases[0].seconds == 2.0
    assert again.phases[1].end is None
    assert "unfinished" in again.table()


def test_ending_an_unknown_phase_says_which_exist():
    clock = PhaseClock()
    clock.start("train")
    with pytest.raises(KeyError, match="train"):
        clock.end("serve ready")


def test_a_phase_cut_by_ctrl_c_says_interrupted_not_failed(tmp_path):
    clock = PhaseClock()
    with pytest.raises(KeyboardInterrupt), clock.phase("train"):
        raise KeyboardInterrupt
    clock.start("serve ready")
    clock.end("serve ready", ok=False, interrupted=True)
    again = PhaseClock.from_json(clock.to_json())  # as the controller reads run.json
    rows = again.table().splitlines()[1:3]
    assert [row.split()[-1] for row in rows] == ["interrupted", "interrupted"], rows
    assert not any(p.ok for p in again.phases)
