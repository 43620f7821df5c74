"""Fixtures for the metadata server's tests: servers started as real processes, stopped after.

These tests need the ``ml-metadata`` wheel, whose pins (protobuf<5) the lock cannot hold, so
they run in their own venv: ``tox -e metadata-server``. Elsewhere each module skips, saying so.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.metadata_server.server_process import STOP_TIMEOUT, MetadataServer, launch, wait_ready


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., MetadataServer]]:
    """Start servers (ready for calls) under *tmp_path*; teardown kills any still running."""
    started: list[MetadataServer] = []

    def start(*args: str, ready: bool = True, port: int | None = None) -> MetadataServer:
        number = len(started)
        server = launch(
            list(args), tmp_path / f"server-{number}.log", tmp_path / f"tmp-{number}", port
        )
        started.append(server)
        if ready:
            wait_ready(server)
        return server

    yield start
    for server in started:
        server.channel.close()
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(STOP_TIMEOUT)


@pytest.fixture(scope="module")
def metadata_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetadataServer]:
    """One server on a SQLite file, shared by a module's tests (each uses its own names).

    Teardown stops it with SIGTERM and fails the module's last test if it did not exit 0.
    """
    base = tmp_path_factory.mktemp("metadata-server")
    server = launch(["--sqlite", str(base / "metadata.db")], base / "server.log", base / "tmp")
    try:
        wait_ready(server)
        yield server
    finally:
        code = server.stop()
    assert code == 0, f"the shared metadata server exited {code} on SIGTERM:\n{server.log}"
