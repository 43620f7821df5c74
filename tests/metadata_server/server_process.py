"""``python -m metadata_server`` as a real process on a loopback port, and status checks.

Nothing here imports ml_metadata at import time, so collecting this folder never fails in a
venv without the wheel (the test modules skip there, saying so).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import pytest

from fixtures.ports import free_port
from kubekit.exceptions import NotReady
from kubekit.wait import wait_until

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0
T = TypeVar("T")

# manifests/kustomize/base/metadata/base/metadata-grpc-deployment.yaml, after Kubernetes has
# substituted the $(VAR)s from pipeline-install-config and mysql-secret.
KFP_ARGS = [
    "--grpc_port=8080",
    "--mysql_config_database=metadb",
    "--mysql_config_host=mysql.kubeflow.svc.cluster.local",
    "--mysql_config_port=3306",
    "--mysql_config_user=root",
    "--mysql_config_password=",
    "--enable_database_upgrade=true",
    "--grpc_channel_arguments=grpc.max_metadata_size=16384",
]


@dataclass
class MetadataServer:
    """A running ``python -m metadata_server``, a channel to it and the real service stub."""

    process: subprocess.Popen[bytes]
    port: int
    log_path: Path
    tmpdir: Path
    channel: grpc.Channel = field(init=False)
    stub: Any = field(init=False)

    def __post_init__(self) -> None:
        from ml_metadata.proto import metadata_store_service_pb2_grpc

        # Reconnect quickly: gRPC's default first backoff (1 s) would slow every start by it.
        self.channel = grpc.insecure_channel(
            f"127.0.0.1:{self.port}",
            options=[
                ("grpc.initial_reconnect_backoff_ms", 50),
                ("grpc.max_reconnect_backoff_ms", 200),
            ],
        )
        self.stub = metadata_store_service_pb2_grpc.MetadataStoreServiceStub(self.channel)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def raw(self, method: str, request: bytes, timeout: float = 10) -> bytes:
        """Call *method* with *request* bytes as they are, no serializer on either side."""
        call = self.channel.unary_unary(f"/ml_metadata.MetadataStoreService/{method}")
        return call(request, timeout=timeout)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send *signum*, wait for the exit code."""
        self.channel.close()
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout)


def launch(
    args: list[str], log_path: Path, tmpdir: Path, port: int | None = None
) -> MetadataServer:
    """Start ``python -m metadata_server`` with *args* on a free loopback port (no waiting).

    ``TMPDIR`` points at *tmpdir*, so a test can check the server left nothing there.
    """
    port = port or free_port()
    tmpdir.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "metadata_server", f"--grpc_port={port}", *args],
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MNIST_METADATA_HOST": "127.0.0.1", "TMPDIR": str(tmpdir)},
        )
    return MetadataServer(process, port, log_path, tmpdir)


def wait_ready(server: MetadataServer) -> None:
    """Wait until a real call (GetContextTypes) answers; fail at once if the process ended."""
    from ml_metadata.proto import metadata_store_service_pb2

    def answered() -> None:
        try:
            server.stub.GetContextTypes(
                metadata_store_service_pb2.GetContextTypesRequest(), timeout=2
            )
        except grpc.RpcError as exc:
            raise NotReady(f"{exc.code().name}: {exc.details()}") from exc

    def exited() -> str | None:
        if server.process.poll() is None:
            return None
        return f"the server exited {server.process.returncode}:\n{server.log}"

    wait_until(
        f"metadata server on port {server.port} answers GetContextTypes",
        answered,
        timeout=READY_TIMEOUT,
        fatal=exited,
        max_interval=0.2,
    )


def expect_status(code: grpc.StatusCode, call: Callable[[], object]) -> grpc.RpcError:
    """Run *call*, which must fail with gRPC status *code*; return the error for more checks."""
    __tracebackhide__ = True
    try:
        result = call()
    except grpc.RpcError as exc:
        if exc.code() != code:
            pytest.fail(f"expected {code.name}, got {exc.code().name}: {exc.details()}")
        return exc
    pytest.fail(f"expected {code.name}, but the call succeeded with {result!r}")


def outcome(call: Callable[[], T]) -> tuple[T | None, grpc.StatusCode, str]:
    """Run *call*: (its result, OK, "") or (None, the status it failed with, the details)."""
    try:
        return call(), grpc.StatusCode.OK, ""
    except grpc.RpcError as exc:
        return None, exc.code(), exc.details() or ""
