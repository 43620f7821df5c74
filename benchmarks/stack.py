"""The local serving stack for benchmarks: a SavedModel export, the model server, the web UI.

Processes start through the harness's own helpers (fixtures.processes) and are recorded in a
ledger, so stopping them is the same ledger-driven teardown the e2e run uses.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fixtures import processes
from fixtures.created.teardown_plan import teardown
from fixtures.ledger import Ledger
from fixtures.platforms.local import LOOPBACK, model_server_argv
from fixtures.ports import free_port
from kubekit.exceptions import NotReady
from kubekit.wait import wait_until
from model.contract import MODEL_NAME, SERVING_HOST_ENV, UI_MODEL_NAME_ENV, UI_SERVERS_ENV

REPO_ROOT = Path(__file__).resolve().parent.parent
READY_TIMEOUT = 180.0


def export_model(base: Path, model_type: str = "cnn", version: int = 1) -> Path:
    """Export an untrained (seeded) *model_type* as ``base/<version>``; return that path.

    Weights do not change the arithmetic a prediction costs, so latency needs no training. The
    export runs in a child process: the benchmark's own process is the client being measured,
    and clients here import no TensorFlow.
    """
    code = "import sys; from benchmarks.stack import export_here; export_here(*sys.argv[1:])"
    subprocess.run(
        [sys.executable, "-c", code, str(base), model_type, str(version)],
        cwd=REPO_ROOT,
        check=True,
        timeout=READY_TIMEOUT,
    )
    return base / str(version)


def export_here(base: str, model_type: str, version: str) -> None:
    """:func:`export_model`'s child: build, seed and export in this process."""
    from model import export, networks, training

    training.seed_everything(0)
    export.export(networks.build(model_type), base, int(version))


@dataclass(frozen=True)
class Stack:
    """Where the started servers answer."""

    grpc_target: str
    ui_url: str | None
    logs: Path


def _grpc_serving(target: str) -> None:
    import grpc
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    with grpc.insecure_channel(target) as channel:
        try:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=2
            )
        except grpc.RpcError as exc:
            raise NotReady(f"health check: {exc.code()}") from exc
    if answer.status != health_pb2.HealthCheckResponse.SERVING:
        raise NotReady(f"health status {answer.status}")


def _http_ok(url: str) -> None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
            if response.status != 200:
                raise NotReady(f"GET {url}: {response.status}")
    except (urllib.error.URLError, OSError) as exc:
        raise NotReady(f"GET {url}: {exc}") from exc


def _crashed(process: processes.StartedProcess) -> str | None:
    code = process.exited()
    if code is None:
        return None
    return f"{process.name} exited with {code}:\n{process.log_tail()}"


@contextmanager
def local_stack(export_base: Path, workdir: Path, *, with_ui: bool) -> Iterator[Stack]:
    """Start the model server on *export_base* (and the web UI); stop both on exit."""
    ledger = Ledger(workdir / "ledger.jsonl")
    logs = workdir / "logs"
    env = {"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2", SERVING_HOST_ENV: LOOPBACK}
    try:
        grpc_port, rest_port = free_port(), free_port()
        server = processes.start(
            "model-server",
            model_server_argv(str(export_base), grpc_port, rest_port),
            ledger=ledger,
            log_path=logs / "model-server.log",
            env=env,
            cwd=REPO_ROOT,
            ports=[grpc_port, rest_port],
        )
        target = f"{LOOPBACK}:{grpc_port}"
        ui_url = None
        if with_ui:
            ui_port = free_port()
            ui = processes.start(
                "web-ui",
                processes.python_module("web_ui", "--host", LOOPBACK, "--port", str(ui_port)),
                ledger=ledger,
                log_path=logs / "web-ui.log",
                env={
                    **env,
                    UI_SERVERS_ENV: f"local={target}",
                    UI_MODEL_NAME_ENV: MODEL_NAME,
                },
                cwd=REPO_ROOT,
                ports=[ui_port],
            )
            ui_url = f"http://{LOOPBACK}:{ui_port}"
        wait_until(
            f"model server on {target}",
            lambda: _grpc_serving(target),
            timeout=READY_TIMEOUT,
            fatal=lambda: _crashed(server),
        )
        if with_ui:
            wait_until(
                f"web UI on {ui_url}",
                lambda: _http_ok(f"{ui_url}/readyz"),
                timeout=READY_TIMEOUT,
                fatal=lambda: _crashed(ui),
            )
        yield Stack(target, ui_url, logs)
    finally:
        for line in teardown(ledger.resources()):
            print(f"  teardown: {line}")
