"""``python -m metadata_server`` as a process: start, persist, stop on signals, leave nothing.

Each test starts its own server on a free loopback port with ``TMPDIR`` pointed at an empty
directory of its own, and judges it by real calls, its exit code, its log and the files left.
"""

from __future__ import annotations

import signal
import socket
import time

import pytest

from kubekit.wait import until

pytest.importorskip(
    "ml_metadata", reason="needs the ml-metadata wheel (protobuf<5): run tox -e metadata-server"
)

from ml_metadata.proto import metadata_store_pb2 as mlmd
from ml_metadata.proto import metadata_store_service_pb2 as api

from fixtures.ports import free_port, is_port_free
from tests.metadata_server.server_process import STOP_TIMEOUT, MetadataServer


def put_run_context(server: MetadataServer, name: str) -> int:
    """Create a context type and a context of it, as KFP's driver does first; return its id."""
    type_id = server.stub.PutContextType(
        api.PutContextTypeRequest(context_type=mlmd.ContextType(name="system.PipelineRun"))
    ).type_id
    (context_id,) = server.stub.PutContexts(
        api.PutContextsRequest(contexts=[mlmd.Context(name=name, type_id=type_id)])
    ).context_ids
    return context_id


def find_run_context(server: MetadataServer, name: str) -> mlmd.Context | None:
    found = server.stub.GetContextByTypeAndName(
        api.GetContextByTypeAndNameRequest(type_name="system.PipelineRun", context_name=name)
    )
    return found.context if found.HasField("context") else None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_it_cleanly_leaving_only_the_database(start_server, tmp_path, signum):
    database = tmp_path / "db" / "metadata.db"
    database.parent.mkdir()
    server = start_server("--sqlite", str(database))
    put_run_context(server, "run-1")

    assert server.stop(signum) == 0, server.log
    assert "shutting down" in server.log
    assert "stopped" in server.log
    assert is_port_free(server.port), f"port {server.port} still bound after exit"
    # SQLite's journal is gone once the connection is closed; the temp dir was never used.
    assert sorted(p.name for p in database.parent.iterdir()) == ["metadata.db"]
    assert list(server.tmpdir.iterdir()) == []


def test_a_sqlite_database_outlives_the_server(start_server, tmp_path):
    database = tmp_path / "metadata.db"
    first = start_server("--sqlite", str(database))
    context_id = put_run_context(first, "run-1")
    assert first.stop() == 0, first.log

    second = start_server("--sqlite", str(database))
    found = find_run_context(second, "run-1")
    assert found is not None, second.log
    assert found.id == context_id
    assert second.stop() == 0, second.log


def test_without_a_database_flag_it_keeps_metadata_in_memory(start_server):
    server = start_server()
    assert "in-memory SQLite" in server.log
    put_run_context(server, "run-1")
    assert find_run_context(server, "run-1") is not None
    assert server.stop() == 0, server.log
    assert list(server.tmpdir.iterdir()) == []


def test_an_unopenable_database_exits_1_naming_it(start_server, tmp_path):
    missing = tmp_path / "no-such-dir" / "metadata.db"
    server = start_server("--sqlite", str(missing), ready=False)
    assert server.process.wait(STOP_TIMEOUT) == 1, server.log
    assert f"cannot open SQLite file {missing}" in server.log
    assert "unable to open database file" in server.log


def test_unreachable_mysql_is_retried_then_exits_1(start_server):
    nobody = free_port()  # nothing listens there
    started = time.monotonic()
    server = start_server(
        "--mysql_config_host=127.0.0.1",
        f"--mysql_config_port={nobody}",
        "--mysql_config_database=metadb",
        "--mysql_config_user=root",
        "--mysql_config_password=not-in-the-log",
        "--metadata_store_connection_retries=1",
        ready=False,
    )
    assert server.process.wait(STOP_TIMEOUT) == 1, server.log
    assert time.monotonic() - started >= 1.0, "one retry, a second after the first try"
    assert f"cannot open MySQL database 'metadb' on 127.0.0.1:{nobody}" in server.log
    assert "; retry 1 of 1 in 1 s" in server.log
    assert "not-in-the-log" not in server.log


def test_sigterm_while_waiting_for_mysql_is_a_clean_stop(start_server):
    server = start_server(
        "--mysql_config_host=127.0.0.1",
        f"--mysql_config_port={free_port()}",
        "--mysql_config_database=metadb",
        "--metadata_store_connection_retries=60",
        ready=False,
    )
    until("the server opening MySQL", lambda: "opening MySQL" in server.log, timeout=STOP_TIMEOUT)
    started = time.monotonic()
    assert server.stop() == 0, server.log
    assert time.monotonic() - started < 5, "it must not sit out its 60 retries"
    assert "stopped before the store was open" in server.log


def test_a_port_in_use_exits_1_naming_the_port(start_server):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_server(port=port, ready=False)
        assert server.process.wait(STOP_TIMEOUT) == 1, server.log
    assert f"is --grpc_port {port} in use?" in server.log
