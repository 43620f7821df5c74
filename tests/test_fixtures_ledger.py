import multiprocessing

from fixtures.ledger import Ledger, Resource


def test_records_survive_a_new_reader(tmp_path):
    path = tmp_path / "run" / "ledger.jsonl"
    Ledger(path).record(Resource("tempdir", "/tmp/x", {"path": "/tmp/x"}))
    Ledger(path).record(Resource("process", "train", {"pid": 1}))
    assert [r.kind for r in Ledger(path)] == ["tempdir", "process"]
    assert Ledger(path).resources()[1].details == {"pid": 1}


def test_missing_ledger_is_empty(tmp_path):
    assert Ledger(tmp_path / "none.jsonl").resources() == []


def _append(path, index):
    Ledger(path).record(Resource("process", f"p{index}", {"pid": index}))


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / "ledger.jsonl"
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        pool.starmap(_append, [(path, i) for i in range(40)])
    assert sorted(r.details["pid"] for r in Ledger(path)) == list(range(40))
