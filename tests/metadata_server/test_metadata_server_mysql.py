"""MLMD's MySQL back end behind the server, with KFP's manifest flags, on a private MariaDB.

Each module run starts its own ``mariadbd`` (Debian's ``mariadb-server``; ``.ci/run``
installs it) on a free loopback port with its data in a temp dir, and stops it after. Without
``mariadbd`` on PATH the module skips, saying how to get it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

pytest.importorskip(
    "ml_metadata", reason="needs the ml-metadata wheel (protobuf<5): run tox -e metadata-server"
)
if not (shutil.which("mariadbd") and shutil.which("mariadb-install-db")):
    pytest.skip(
        "needs a MySQL server: apt-get install mariadb-server (.ci/run does)",
        allow_module_level=True,
    )

from ml_metadata.proto import metadata_store_pb2 as mlmd
from ml_metadata.proto import metadata_store_service_pb2 as api

from fixtures.ports import free_port
from kubekit.exceptions import NotReady
from kubekit.wait import wait_until
from tests.metadata_server.kfp_flow import (
    create_execution,
    pipeline,
    publish,
    record_artifact,
)
from tests.metadata_server.server_process import KFP_ARGS, STOP_TIMEOUT, expect_status, outcome


@dataclass
class MariaDB:
    """A private ``mariadbd``: its data directory, port and process (None while stopped)."""

    datadir: Path
    port: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (the data directory must exist) and wait until it takes connections."""
        argv = [
            "mariadbd",
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={self.port}",
            "--bind-address=127.0.0.1",
            f"--socket={self.datadir / 'mysqld.sock'}",
            f"--pid-file={self.datadir / 'mysqld.pid'}",
            # The tests are about the store, not MySQL accounts: any user may connect.
            "--skip-grant-tables",
            "--skip-name-resolve",
        ]
        if os.geteuid() == 0:
            argv.append("--user=root")  # mariadbd refuses root unless told
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_until(
            f"mariadbd on port {self.port} takes connections",
            self._connects,
            timeout=60,
            fatal=self._exited,
            max_interval=0.2,
        )

    def stop(self) -> None:
        """SIGTERM it and wait: mariadbd shuts down cleanly on SIGTERM."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(60)
        self.process = None

    def _connects(self) -> None:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError as exc:
            raise NotReady(str(exc)) from exc

    def _exited(self) -> str | None:
        if self.process is None or self.process.poll() is None:
            return None
        return f"mariadbd exited {self.process.returncode}:\n{self.log_path.read_text()}"


@pytest.fixture(scope="module")
def mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A running private MariaDB on a free loopback port; teardown stops it (its data goes with
    the temp dir)."""
    base = tmp_path_factory.mktemp("mariadb")
    datadir = base / "data"
    install = ["mariadb-install-db", "--no-defaults", f"--datadir={datadir}", "--skip-test-db"]
    if os.geteuid() == 0:
        install.append("--user=root")
    subprocess.run(install, check=True, capture_output=True, timeout=120)
    server = MariaDB(datadir, free_port(), base / "mariadbd.log")
    server.start()
    yield server
    server.stop()


def kfp_args(mariadb: MariaDB) -> list[str]:
    """metadata-grpc-deployment's args, with the database at *mariadb* (the port is the test's)."""
    moved = ("--grpc_port=", "--mysql_config_host=", "--mysql_config_port=")
    return [
        *(arg for arg in KFP_ARGS if not arg.startswith(moved)),
        "--mysql_config_host=127.0.0.1",
        f"--mysql_config_port={mariadb.port}",
    ]


def test_kfp_flow_on_mysql(start_server, mariadb):
    server = start_server(*kfp_args(mariadb))
    stub = server.stub
    contexts = pipeline(stub, "mnist", "run-mysql-1")
    train = create_execution(stub, contexts, "train")
    model = record_artifact(stub, "system.Model", "minio://mlpipeline/model", "model")
    publish(stub, train, contexts, {"model": model})

    events = stub.GetEventsByExecutionIDs(
        api.GetEventsByExecutionIDsRequest(execution_ids=[train.id])
    ).events
    assert [(e.artifact_id, e.type) for e in events] == [(model.id, mlmd.Event.OUTPUT)]
    link = mlmd.ParentContext(child_id=contexts[1].id, parent_id=contexts[0].id)
    expect_status(
        grpc.StatusCode.ALREADY_EXISTS,
        lambda: stub.PutParentContexts(api.PutParentContextsRequest(parent_contexts=[link])),
    )
    assert server.stop() == 0, server.log


def test_a_restarted_database_costs_calls_not_the_server(start_server, mariadb):
    server = start_server(*kfp_args(mariadb))
    pipeline(server.stub, "mnist", "run-mysql-2")
    request = api.GetContextTypesRequest()

    mariadb.stop()
    _, code, details = outcome(lambda: server.stub.GetContextTypes(request, timeout=10))
    assert code == grpc.StatusCode.UNAVAILABLE, details
    assert "cannot connect to the database" in details

    mariadb.start()
    # Each call connects anew, so the first call after the restart already works.
    names = {t.name for t in server.stub.GetContextTypes(request, timeout=10).context_types}
    assert {"system.Pipeline", "system.PipelineRun"} <= names
    assert server.process.poll() is None
    assert server.stop(timeout=STOP_TIMEOUT) == 0, server.log
