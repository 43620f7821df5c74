"""``python -m serving`` as a real process: gRPC, health, REST, reloads, gs://, signals.

Each server runs on free loopback ports and is judged by real calls only: readiness is a
health RPC that answers, versions are what Predict responses carry.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
import numpy as np
import pytest

from fixtures.ports import free_port, is_port_free
from kubekit.exceptions import NotReady
from kubekit.wait import wait_until
from model.contract import IMAGE_PIXELS, NUM_CLASSES, SIGNATURE_NAME

# Starts TensorFlow processes (and imports TensorFlow here to export models): slow.
pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
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

        self.channel = grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")
        self.predictions = prediction_service_pb2_grpc.PredictionServiceStub(self.channel)
        self.models = model_service_pb2_grpc.ModelServiceStub(self.channel)
        self.health = health_pb2_grpc.HealthStub(self.channel)

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
    from serving.fixed_model import image_of_class

    return np.stack([image_of_class(c) for c in classes])


def export(base: Path | str, version: int, favoured: int | None = None) -> None:
    from serving import fixed_model

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


@pytest.fixture
def stopped_at_teardown() -> Iterator[list[Server]]:
    """Servers a test starts; teardown kills any still running."""
    servers: list[Server] = []
    yield servers
    for server in servers:
        if server.process.poll() is None:
            server.process.kill()
            server.process.wait(10)


# -- one server, many requests ----------------------------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with REST on, serving version 1 of the fixed model.

    Teardown stops it with SIGTERM (and kills it if that fails).
    """
    tmp = tmp_path_factory.mktemp("server")
    export(tmp / "export", 1)
    server = start_server(str(tmp / "export"), tmp / "server.log")
    try:
        wait_listening(server)
        wait_serving(server, 1)
        yield server
    finally:
        try:
            server.stop()
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(10)


def test_predict_answers_classes_probabilities_and_version(server: Server) -> None:
    import tensorflow as tf

    response = server.predict(digits(*range(NUM_CLASSES)))
    assert response.model_spec.name == "mnist"
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == SIGNATURE_NAME
    assert list(response.outputs["classes"].int64_val) == list(range(NUM_CLASSES))
    probabilities = tf.make_ndarray(response.outputs["predictions"])
    assert probabilities.shape == (NUM_CLASSES, NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_a_batch_of_500_in_one_request(server: Server) -> None:
    classes = np.arange(500) % NUM_CLASSES
    response = server.predict(digits(*classes))
    assert list(response.outputs["classes"].int64_val) == classes.tolist()


def test_unknown_model_is_not_found(server: Server) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        server.predict(digits(1), model_name="fashion")
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert raised.value.details() == "Servable not found for request: Latest(fashion)"
    with pytest.raises(grpc.RpcError) as raised:
        server.predict(digits(1), version=2)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def _bad_requests():
    import tensorflow as tf

    wrong_shape = float_tensor(np.zeros((2, 100), np.float32))
    wrong_dtype = tf.make_tensor_proto(np.zeros((1, IMAGE_PIXELS), np.float64))
    return [
        ("x", wrong_shape, "input 'x' has shape [2, 100] but signature 'serving_default' expects [-1, 784]"),
        ("x", wrong_dtype, "input 'x' has dtype DT_DOUBLE but signature 'serving_default' expects DT_FLOAT"),
        ("images", float_tensor(digits(1)), "Missing but required: {x}"),
    ]  # fmt: skip


def test_bad_input_is_invalid_argument_and_the_server_keeps_serving(server: Server) -> None:
    from tensorflow_serving.apis import predict_pb2

    for key, tensor, message in _bad_requests():
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "mnist"
        request.inputs[key].CopyFrom(tensor)
        with pytest.raises(grpc.RpcError) as raised:
            server.predictions.Predict(request, timeout=10)
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert message in raised.value.details()
        # ... and the very next good request is answered.
        assert list(server.predict(digits(5)).outputs["classes"].int64_val) == [5]
    assert server.process.poll() is None


def declared(shape: list[int], values: list[float]):
    """A DT_FLOAT request tensor declaring *shape* and carrying *values* (maybe far fewer)."""
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2, types_pb2

    return tensor_pb2.TensorProto(
        dtype=types_pb2.DT_FLOAT,
        tensor_shape=tensor_shape_pb2.TensorShapeProto(
            dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=s) for s in shape]
        ),
        float_val=values,
    )


def predict_raw(server: Server, tensor) -> grpc.RpcError | None:
    """Predict with input ``x`` = *tensor*; the error it ended in, or None."""
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "mnist"
    request.inputs["x"].CopyFrom(tensor)
    try:
        server.predictions.Predict(request, timeout=30)
    except grpc.RpcError as error:
        return error
    return None


def test_a_tiny_request_declaring_a_huge_batch_is_refused_at_once(server: Server) -> None:
    """The probe's 37 bytes declaring [20000, 784] cost 10.9 s and 3.75 GB; [10**9, 784]
    answered INTERNAL: MemoryError."""
    for rows in (20_000, 10**9):
        error = predict_raw(server, declared([rows, IMAGE_PIXELS], [0.5]))
        assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert f"input 'x' has {rows} rows" in error.details()
        assert "limit of 10000 rows a request (--max_request_rows)" in error.details()
    assert list(server.predict(digits(4)).outputs["classes"].int64_val) == [4]


def test_an_empty_batch_is_invalid_argument_saying_so(server: Server) -> None:
    error = predict_raw(server, declared([0, IMAGE_PIXELS], []))
    assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        error.details()
        == "input 'x' has shape [0, 784]: an empty batch; send at least one instance"
    )


def test_the_request_limits_are_flags(tmp_path: Path, stopped_at_teardown: list[Server]) -> None:
    export(tmp_path / "export", 1)
    server = start_server(
        str(tmp_path / "export"), tmp_path / "server.log", rest=False,
        flags=("--max_request_rows=100", "--max_request_bytes=200000"),
    )  # fmt: skip
    stopped_at_teardown.append(server)
    wait_listening(server)
    wait_serving(server, 1)
    assert "requests up to 100 rows and 200000 bytes" in server.log

    assert predict_raw(server, float_tensor(np.zeros((63, IMAGE_PIXELS), np.float32))) is None
    over_rows = predict_raw(server, declared([101, IMAGE_PIXELS], [0.0]))
    assert over_rows is not None and "(--max_request_rows)" in over_rows.details()
    over_bytes = predict_raw(server, declared([64, IMAGE_PIXELS], [0.0]))
    assert over_bytes is not None and over_bytes.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "is 200704 bytes, over this server's limit of 200000 bytes a request" in (
        over_bytes.details()
    )
    # A message past the limit (and its envelope) is refused by gRPC before it is parsed.
    huge = predict_raw(server, float_tensor(np.zeros((100, 5 * IMAGE_PIXELS), np.float32)))
    assert huge is not None and huge.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert predict_raw(server, float_tensor(digits(3))) is None


def test_memory_returns_to_its_baseline_after_large_batches(
    tmp_path: Path, stopped_at_teardown: list[Server]
) -> None:
    """The probe saw 1.85 → 14.5 GB for 100,000 rows, kept afterwards. Here the CNN of the
    training program (untrained: only its size matters) answers two 5,000-row batches."""
    import time

    import psutil

    from model import export as model_export
    from model import networks

    model_export.save(networks.build("cnn"), tmp_path / "export" / "1")
    server = start_server(str(tmp_path / "export"), tmp_path / "server.log", rest=False)
    stopped_at_teardown.append(server)
    wait_listening(server)
    wait_serving(server, 1)
    process = psutil.Process(server.process.pid)
    images = np.random.default_rng(0).random((5000, IMAGE_PIXELS), dtype=np.float32)
    small = images[:100]
    assert predict_raw(server, float_tensor(small)) is None  # warm: kernels for batches
    time.sleep(1)
    baseline = process.memory_info().rss
    for _ in range(2):
        import tensorflow as tf

        assert predict_raw(server, tf.make_tensor_proto(images)) is None
    time.sleep(1)
    grown = process.memory_info().rss - baseline
    assert grown < 300 * 2**20, (
        f"resident memory grew by {grown / 2**20:.0f} MiB after the batches and stayed there"
        f" (baseline {baseline / 2**20:.0f} MiB); see {server.log_path}"
    )


def test_metadata_shows_the_signature(server: Server) -> None:
    from tensorflow_serving.apis import get_model_metadata_pb2

    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "mnist"
    response = server.predictions.GetModelMetadata(request, timeout=10)
    assert response.model_spec.version.value == 1
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    signature = signature_map.signature_def[SIGNATURE_NAME]
    assert [d.size for d in signature.inputs["x"].tensor_shape.dim] == [-1, IMAGE_PIXELS]
    assert set(signature.outputs) == {"classes", "predictions"}


def test_model_status_over_grpc(server: Server) -> None:
    from tensorflow_serving.apis import get_model_status_pb2

    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "mnist"
    (status,) = server.models.GetModelStatus(request, timeout=10).model_version_status
    assert (status.version, status.state) == (1, get_model_status_pb2.ModelVersionStatus.AVAILABLE)


def test_health_is_serving_for_the_server_and_the_prediction_service(server: Server) -> None:
    assert server.health_status() == "SERVING"
    assert server.health_status("tensorflow.serving.PredictionService") == "SERVING"


def test_rest_predict_on_the_same_server(server: Server) -> None:
    body = json.dumps({"instances": digits(2, 7).tolist()}).encode()
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.rest_port}/v1/models/mnist:predict", data=body
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        document = json.loads(response.read())
    assert [row["classes"] for row in document["predictions"]] == [2, 7]
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"http://127.0.0.1:{server.rest_port}/v1/models/fashion", timeout=10)
    assert raised.value.code == 404


# -- life cycle --------------------------------------------------------------------------------


def test_starts_empty_picks_up_versions_and_stops_on_sigterm(
    tmp_path: Path, stopped_at_teardown: list[Server]
) -> None:
    base = tmp_path / "export"  # does not exist yet: the trainer has not written it
    server = start_server(str(base), tmp_path / "server.log")
    stopped_at_teardown.append(server)

    assert wait_listening(server) == "NOT_SERVING"
    with pytest.raises(grpc.RpcError) as raised:
        server.predict(digits(0))
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    assert raised.value.details().startswith("Servable not found for request: Latest(mnist)")

    export(base, 1)
    eventually("health SERVING", lambda: _assert_equal(server.health_status(), "SERVING"))
    response = server.predict(digits(0))
    assert response.model_spec.version.value == 1
    assert list(response.outputs["classes"].int64_val) == [0]

    export(base, 2, favoured=7)  # version 2 answers 7 for everything
    wait_serving(server, 2)
    assert list(server.predict(digits(0)).outputs["classes"].int64_val) == [7]

    assert server.stop(signal.SIGTERM) == 0
    log = server.log
    assert f"serving: gRPC on 127.0.0.1:{server.grpc_port}" in log
    assert "serving: loaded model mnist version 1" in log
    assert "serving: loaded model mnist version 2" in log
    assert "serving: unloaded model mnist version 1" in log
    assert is_port_free(server.grpc_port)
    assert is_port_free(server.rest_port)


def test_a_port_in_use_is_a_clear_error(tmp_path: Path, stopped_at_teardown: list[Server]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        server = start_server(str(tmp_path), tmp_path / "server.log", grpc_port=port)
        stopped_at_teardown.append(server)
        assert server.process.wait(60) == 1
    assert f"cannot listen for gRPC on 127.0.0.1:{port}" in server.log


def _assert_equal(got: object, expected: object) -> None:
    assert got == expected, f"got {got!r}, expected {expected!r}"


# -- gs:// against gcp-storage-emulator --------------------------------------------------------


def test_gs_base_path_downloads_versions_and_cleans_its_cache_on_sigint(
    gcs_emulator: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    stopped_at_teardown: list[Server],
) -> None:
    from model import gcs

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_emulator)
    bucket = f"serving-{uuid.uuid4().hex[:12]}"
    gcs.client().create_bucket(bucket)
    base = f"gs://{bucket}/export"
    export(base, 1)
    server_tmp = tmp_path / "server-tmp"  # the server's TMPDIR: where its cache goes
    server_tmp.mkdir()
    server = start_server(
        base,
        tmp_path / "server.log",
        rest=False,
        env={"STORAGE_EMULATOR_HOST": gcs_emulator, "TMPDIR": str(server_tmp)},
    )
    stopped_at_teardown.append(server)

    wait_listening(server)
    wait_serving(server, 1)
    assert any(server_tmp.iterdir()), "the gs:// cache should live in the server's TMPDIR"
    export(base, 2, favoured=3)
    wait_serving(server, 2)
    assert list(server.predict(digits(0)).outputs["classes"].int64_val) == [3]

    assert server.stop(signal.SIGINT) == 0
    assert list(server_tmp.iterdir()) == [], "the gs:// cache was not removed at exit"
    assert f"from {base}/2" in server.log
