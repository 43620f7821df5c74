"""``python -m serving`` as a real process on free loopback ports, and clients to judge it by.

Readiness is a health RPC that answers, versions are what Predict responses carry. The
serving tests (tests/test_serving_server.py) start servers with :func:`start_server`; the
session's shared one, which the web UI tests call too, is :func:`running` (the
``model_server`` fixture in tests/conftest.py).

TensorFlow is imported only inside the functions that need it, so importing this module (as
the conftest does for every test) costs nothing.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import numpy as np
import pytest

from fixtures.ports import free_port
from kubekit.exceptions import NotReady
from kubekit.wait import wait_until
from model.contract import SIGNATURE_NAME

ROOT = Path(__file__).resolve().parents[2]
T = TypeVar("T")


def eventually(description: str, check: Callable[[], T], timeout: float = 60.0) -> T:
    """Call *check* until it returns without AssertionError/RpcError; fail after *timeout*."""

    def probe() -> T:
        try:
            return check()
        except (AssertionError, grpc.RpcError) as exc:
            raise NotReady(str(exc)) from exc

    return wait_until(description, probe, timeout=timeout, max_interval=0.05)


@dataclass
class Server:
    """A running ``python -m serving`` and clients for it."""

    process: subprocess.Popen[bytes]
    grpc_port: int
    rest_port: int
    log_path: Path
    channel: grpc.Channel = field(init=False)

    def __post_init__(self) -> None:
        from grpc_health.v1 import health_pb2_grpc
        from tensorflow_serving.apis import model_service_pb2_grpc, prediction_service_pb2_grpc

        self.channel = grpc.insecure_channel(self.target)
        self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

    @property
    def target(self) -> str:
        """``host:port`` of its gRPC API, as a client (the web UI) is configured with it."""
        return f"127.0.0.1:{self.grpc_port}"

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def health_status(self, service: str = "") -> str:
        from grpc_health.v1 import health_pb2

        response = self.health.Check(health_pb2.HealthCheckRequest(service=service), timeout=2)
        return health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)

    def predict(self, images: np.ndarray, model_name: str = "mnist", **spec: Any):
        from tensorflow_serving.apis import predict_pb2

        request = predict_pb2.PredictRequest()
        request.model_spec.name = model_name
        request.model_spec.signature_name = SIGNATURE_NAME
        if "version" in spec:
            request.model_spec.version.value = spec["version"]
        request.inputs["x"].CopyFrom(float_tensor(images))
        return self.predictions.Predict(request, timeout=10)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = 15) -> int:
        """Send *signum*, wait for the exit code."""
        self.channel.close()
        if self.process.poll() is None:
            self.process.send_signal(signum)
        return self.process.wait(timeout)

    def stop_or_kill(self) -> None:
        """Stop with SIGTERM; kill it if it does not exit in time (teardown must not hang)."""
        try:
            self.stop()
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)


def float_tensor(images: np.ndarray):
    """A DT_FLOAT TensorProto in float_val, the way most TF Serving clients build one."""
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in images.shape]
        ),
        float_val=images.ravel().tolist(),
    )


def digits(*classes: int) -> np.ndarray:
    """Images the fixed model classifies as *classes*, one a row."""
    from tests.support.fixed_model import image_of_class

    return np.stack([image_of_class(c) for c in classes])


def export(base: Path | str, version: int, favoured: int | None = None) -> None:
    """Publish version *version* of the fixed model under *base* (a directory or gs://)."""
    from tests.support import fixed_model

    fixed_model.export(base, version, favoured)


def start_server(
    base_path: str,
    log_path: Path,
    *,
    poll: float = 0.2,
    rest: bool = True,
    env: dict[str, str] | None = None,
    grpc_port: int | None = None,
    flags: tuple[str, ...] = (),
) -> Server:
    """Start ``python -m serving`` on free loopback ports (not waiting for anything)."""
    grpc_port = grpc_port or free_port()
    rest_port = free_port() if rest else 0
    argv = [
        sys.executable,
        "-m",
        "serving",
        f"--port={grpc_port}",
        "--rest_api_port",
        str(rest_port),
        "--model_name=mnist",
        f"--model_base_path={base_path}",
        f"--file_system_poll_wait_seconds={poll}",
        *flags,
    ]
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "MNIST_SERVING_HOST": "127.0.0.1", **(env or {})},
        )
    return Server(process, grpc_port, rest_port, log_path)


def _fail_if_exited(server: Server) -> None:
    """Fail at once (not after the deadline) if the server process has ended."""
    __tracebackhide__ = True
    if server.process.poll() is not None:
        pytest.fail(f"model server exited {server.process.returncode}:\n{server.log}")


def wait_listening(server: Server) -> str:
    """Wait until the health service answers; return its first answer."""

    def answered() -> str:
        _fail_if_exited(server)
        return server.health_status()

    return eventually(f"model server on port {server.grpc_port} answers health checks", answered)


def wait_serving(server: Server, version: int) -> None:
    """Wait until Predict answers from *version*."""

    def serves() -> None:
        _fail_if_exited(server)
        served = server.predict(digits(0)).model_spec.version.value
        assert served == version, f"serving version {served}"

    eventually(f"model server serving version {version}", serves)


@contextmanager
def running(directory: Path, version: int) -> Iterator[Server]:
    """A server with REST on, serving *version* of the fixed model exported under *directory*.

    Yields once Predict answers from that version; exit stops it with SIGTERM (and kills it
    if that fails).
    """
    export(directory / "export", version)
    server = start_server(str(directory / "export"), directory / "server.log")
    try:
        wait_listening(server)
        wait_serving(server, version)
        yield server
    finally:
        server.stop_or_kill()
