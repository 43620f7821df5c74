"""Fast tests of the harness's own parts; ``pytester`` runs real pytest sessions of the plugin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from tests.support.model_server import Server

pytest_plugins = ["pytester"]

# Property tests stay fast and steady on a shared 2-core machine: a bounded number of
# examples each, and no per-example deadline (a loaded machine is not a bug).
settings.register_profile("mnist-e2e", max_examples=100, deadline=None)
settings.load_profile("mnist-e2e")


@pytest.fixture(scope="module")
def gcs_emulator() -> Iterator[str]:
    """The ``http://`` endpoint of the GCS JSON API emulator, in memory, on a loopback port.

    It runs in this process (a thread); clients in child processes reach it through
    ``STORAGE_EMULATOR_HOST``. Teardown stops it, and its buckets go with it.
    """
    from gcp_storage_emulator.server import create_server

    from fixtures.ports import free_port

    port = free_port()
    with create_server("127.0.0.1", port, in_memory=True):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="session")
def model_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """The real ``python -m serving`` on free loopback ports, REST on, serving version 3 of the
    fixed model (tests/support/fixed_model.py), for the serving and web UI tests.

    One per session, started when a test first asks for it: a TensorFlow process, so every
    test that uses it is marked slow (below). Teardown stops it with SIGTERM, or kills it.
    """
    from tests.support.model_server import running

    with running(tmp_path_factory.mktemp("model-server"), version=3) as server:
        yield server


@pytest.hookimpl(tryfirst=True)  # before ``-m`` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the real model server is slow (it starts TensorFlow)."""
    for item in items:
        if "model_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.slow)
