"""Fast tests of the harness's own parts; ``pytester`` runs real pytest sessions of the plugin."""

from collections.abc import Iterator

import pytest
from hypothesis import settings

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
