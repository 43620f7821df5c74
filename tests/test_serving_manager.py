"""serving.manager: versions loaded as they appear, old ones unloaded, lookups as TF Serving."""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import grpc
import pytest

from kubekit.wait import until
from serving.manager import AVAILABLE, END, LOADING, ModelManager, VersionStatus
from serving.status_errors import ServingError
from serving.storage import LocalStore
from serving.version_policy import MAX_LOAD_ATTEMPTS

# Loads SavedModels with TensorFlow (seconds to import): the whole module is slow.
pytestmark = pytest.mark.slow


def export(base: Path, version: int, favoured: int | None = None) -> None:
    from tests.support import fixed_model

    fixed_model.export(base, version, favoured)


class HealthLog:
    """Records what the manager reported to health."""

    def __init__(self) -> None:
        self.calls: list[bool] = []

    def __call__(self, serving: bool) -> None:
        self.calls.append(serving)


@pytest.fixture
def base(tmp_path: Path) -> Path:
    """An empty model base path (removed with pytest's temp dirs)."""
    return tmp_path / "export"


@pytest.fixture
def health() -> HealthLog:
    return HealthLog()


@pytest.fixture
def manager(base: Path, health: HealthLog) -> ModelManager:
    """A manager for model ``mnist`` on *base*, driven by hand with poll_once()."""
    return ModelManager("mnist", LocalStore(str(base)), 0.1, on_serving=health)


def error_of(call) -> ServingError:
    __tracebackhide__ = True
    with pytest.raises(ServingError) as raised:
        call()
    return raised.value


def test_before_any_version_requests_get_not_found(manager: ModelManager, health) -> None:
    manager.poll_once()
    error = error_of(lambda: manager.resolve("mnist"))
    assert error.code == grpc.StatusCode.NOT_FOUND
    assert error.message.startswith("Servable not found for request: Latest(mnist)")
    assert "no version loaded yet" in error.message
    status_error = error_of(lambda: manager.statuses("mnist"))
    assert status_error.message == "Could not find any versions of model mnist"
    assert not manager.serving
    assert health.calls == []


def test_versions_are_loaded_as_they_appear(manager: ModelManager, base: Path, health) -> None:
    export(base, 1)
    manager.poll_once()
    assert manager.resolve("mnist").version == 1
    assert health.calls == [True]

    export(base, 2)
    plan = manager.poll_once()
    assert (plan.load, plan.unload) == (2, (1,))
    assert manager.loaded_versions() == [2]
    assert manager.resolve("mnist").version == 2
    assert [(s.version, s.state) for s in manager.statuses("mnist")] == [(2, AVAILABLE), (1, END)]
    assert health.calls == [True]  # never a moment without a version


def test_lookups_fail_as_tf_serving_fails_them(manager: ModelManager, base: Path) -> None:
    export(base, 1)
    manager.poll_once()
    assert manager.resolve("mnist", version=1).version == 1

    wrong_name = error_of(lambda: manager.resolve("fashion"))
    assert (wrong_name.code, wrong_name.message) == (
        grpc.StatusCode.NOT_FOUND,
        "Servable not found for request: Latest(fashion)",
    )
    wrong_version = error_of(lambda: manager.resolve("mnist", version=9))
    assert wrong_version.code == grpc.StatusCode.NOT_FOUND
    assert wrong_version.message.startswith("Servable not found for request: Specific(mnist, 9)")
    label = error_of(lambda: manager.resolve("mnist", label="stable"))
    assert (label.code, label.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Unrecognized servable version label: stable",
    )
    no_name = error_of(lambda: manager.resolve(""))
    assert no_name.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error_of(lambda: manager.statuses("mnist", 9)).message == (
        "Could not find version 9 of model mnist"
    )


def test_a_broken_version_is_retried_then_given_up_while_the_old_one_serves(
    manager: ModelManager, base: Path
) -> None:
    export(base, 1)
    manager.poll_once()
    broken = base / "2"
    broken.mkdir()
    (broken / "saved_model.pb").write_bytes(b"garbage")
    for attempt in range(1, MAX_LOAD_ATTEMPTS + 1):
        manager.poll_once()
        assert manager.resolve("mnist").version == 1, f"attempt {attempt}"
        if attempt < MAX_LOAD_ATTEMPTS:  # still retrying: LOADING with no error, as TF Serving
            assert manager.statuses("mnist", 2) == [VersionStatus(2, LOADING)]
    assert manager.statuses("mnist", 2) == [
        VersionStatus(
            2,
            END,
            f"Can't parse {broken / 'saved_model.pb'} as binary proto",
            grpc.StatusCode.DATA_LOSS,
        )
    ]
    assert not manager.poll_once()  # given up: no more attempts


def test_a_version_still_being_written_waits(manager: ModelManager, base: Path) -> None:
    export(base, 1)
    manager.poll_once()
    (base / "2" / "variables").mkdir(parents=True)  # no saved_model.pb yet
    assert not manager.poll_once()
    assert manager.loaded_versions() == [1]


def test_deleted_versions_are_unloaded(manager: ModelManager, base: Path, health) -> None:
    export(base, 1)
    export(base, 2)
    manager.poll_once()
    assert manager.loaded_versions() == [2]
    shutil.rmtree(base / "2")
    manager.poll_once()  # TF Serving goes back to the newest one left
    assert manager.loaded_versions() == [1]
    shutil.rmtree(base / "1")
    manager.poll_once()
    assert manager.loaded_versions() == []
    assert health.calls == [True, False]


def test_the_poll_thread_picks_up_a_new_version(manager: ModelManager, base: Path) -> None:
    export(base, 1)
    manager.start()
    try:
        until("version 1 loaded", lambda: manager.loaded_versions() == [1], timeout=30)
        served: list[int] = []
        stop = threading.Event()

        def keep_asking() -> None:  # a client hammering the manager during the swap
            while not stop.is_set():
                served.append(manager.resolve("mnist").version)
                time.sleep(0.0005)  # leave the loading thread some of the GIL

        client = threading.Thread(target=keep_asking)
        client.start()
        export(base, 2, favoured=7)
        until("version 2 loaded", lambda: manager.loaded_versions() == [2], timeout=30)
        stop.set()
        client.join()
    finally:
        manager.stop()
    assert set(served) <= {1, 2}
    assert served == sorted(served), "a request went back to version 1 after version 2 served"
    assert served[-1] == 2


def test_loading_state_is_visible_while_a_load_runs(base: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def slow_loader(name: str, version: int, directory: Path):
        from serving.servable import Servable

        started.set()
        release.wait(30)
        return Servable.load(name, version, directory)

    manager = ModelManager("mnist", LocalStore(str(base)), 0.1, loader=slow_loader)
    export(base, 1)
    poller = threading.Thread(target=manager.poll_once)
    poller.start()
    assert started.wait(30)
    assert [(s.version, s.state) for s in manager.statuses("mnist")] == [(1, LOADING)]
    release.set()
    poller.join()
    assert [(s.version, s.state) for s in manager.statuses("mnist")] == [(1, AVAILABLE)]
