"""The port-forward supervisor: ready only after a real request answers, reconnects when its
forwarder dies — with real processes, sockets and a real gRPC server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from fixtures.ports import free_port, is_port_free
from fixtures.tools import portforward
from fixtures.tools.portforward import Forward, Supervisor
from kubekit.exceptions import NotReady
from kubekit.retry import backoff_seconds
from kubekit.wait import wait_until


def wait_for(status_file: Path, predicate, timeout: float = 20.0) -> dict:
    def matched() -> dict:
        status = portforward.read_status(status_file)
        if not predicate(status):
            raise NotReady(f"status so far: {status}")
        return status

    return wait_until(f"port-forward status in {status_file}", matched, timeout=timeout)


def test_kubectl_forward_binds_loopback_only() -> None:
    forward = Forward("ui", "kind-x", "ns", "svc/web-ui", 80, "http:/readyz", kubeconfig="/k")
    argv = portforward.kubectl_argv(forward, 4321)
    assert argv[:5] == ["kubectl", "--context", "kind-x", "--kubeconfig", "/k"]
    assert argv[argv.index("--address") + 1] == "127.0.0.1"
    assert argv[-2:] == ["svc/web-ui", "4321:80"]
    supervisor = portforward.supervisor_argv(forward, 4321, Path("/s.json"))
    assert supervisor[1:4] == ["-m", "fixtures", "port-forward"]
    assert supervisor[supervisor.index("--") + 1 :] == argv


@pytest.mark.parametrize("spec", ["grpc:", "http:readyz", "tcp:1"])
def test_checks_must_be_real_requests(spec: str) -> None:
    with pytest.raises(ValueError, match="grpc:<model name> or http:/<path>"):
        portforward.make_check(spec, 1)


def http_supervisor(tmp_path: Path) -> tuple[Supervisor, Path, int]:
    """A supervisor whose stand-in forwarder is a real process listening on the local port,
    like kubectl does (an HTTP server); with its status file and port."""
    port = free_port()
    status_file = tmp_path / "status.json"
    forwarder = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
    supervisor = Supervisor(
        "test",
        forwarder,
        portforward.make_check("http:/", port),
        status_file,
        local_port=port,
        check_every=0.2,
        connect_timeout=15,
    )
    return supervisor, status_file, port


def test_supervisor_is_ready_after_a_real_get_and_reconnects(tmp_path: Path) -> None:
    supervisor, status_file, port = http_supervisor(tmp_path)
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    try:
        first = wait_for(status_file, lambda s: s.get("state") == "ready")
        assert first["connects"] == 1 and first["local_port"] == port
        assert supervisor.process is not None
        supervisor.process.kill()  # the pod went away: kubectl exits
        again = wait_for(
            status_file, lambda s: s.get("state") == "ready" and s.get("connects") == 2
        )
        assert again["forwarder_pid"] != first["forwarder_pid"]
    finally:
        supervisor.stop("the test is done")
        thread.join(timeout=15)
    assert portforward.read_status(status_file)["state"] == "stopped"
    assert not thread.is_alive()


def test_each_new_fault_after_a_served_connection_backs_off_from_the_start(
    tmp_path: Path,
) -> None:
    """Three pods replaced one after the other in a long run: each reconnect waits the
    shortest backoff, not one that grew with every fault of the run."""
    supervisor, status_file, _port = http_supervisor(tmp_path)
    lines: list[str] = []
    supervisor.log = lines.append  # type: ignore[method-assign]
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    try:
        for connection in (1, 2, 3):
            wait_for(
                status_file,
                lambda s, n=connection: s.get("state") == "ready" and s.get("connects") == n,
            )
            assert supervisor.process is not None
            supervisor.process.kill()
        wait_for(status_file, lambda s: s.get("state") == "ready" and s.get("connects") == 4)
    finally:
        supervisor.stop("the test is done")
        thread.join(timeout=15)
    waits = [line.split(":")[0] for line in lines if line.startswith("reconnecting in")]
    # kubekit's one backoff policy, from its first step after each served connection
    assert waits == [f"reconnecting in {backoff_seconds(1):.1f}s"] * 3, lines


def test_supervisor_is_not_ready_while_the_service_does_not_answer(tmp_path: Path) -> None:
    port = free_port()
    status_file = tmp_path / "status.json"
    # A forwarder that runs but never listens: a TCP-connect check would also fail, and a
    # real request fails with the reason.
    supervisor = Supervisor(
        "mute",
        [sys.executable, "-c", "import time; time.sleep(30)"],
        portforward.make_check("http:/readyz", port),
        status_file,
        local_port=port,
        check_every=0.2,
        connect_timeout=1.0,
    )
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    try:
        status = wait_for(
            status_file, lambda s: s.get("state") == "reconnecting" and s.get("detail")
        )
        assert "not answering after 1s" in status["detail"] and "/readyz" in status["detail"]
    finally:
        supervisor.stop("the test is done")
        thread.join(timeout=15)


@pytest.fixture
def model_metadata_server() -> Iterator[int]:
    """A gRPC server answering GetModelMetadata for "mnist" only (raw bytes, no TF import)."""

    def answer(request: bytes, context: grpc.ServicerContext) -> bytes:
        if b"mnist" not in request:
            context.abort(grpc.StatusCode.NOT_FOUND, "Servable not found for request")
        return b"\n\x07\n\x05mnist"  # GetModelMetadataResponse{model_spec{name: mnist}}

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers(
        (
            grpc.method_handlers_generic_handler(
                "tensorflow.serving.PredictionService",
                {"GetModelMetadata": grpc.unary_unary_rpc_method_handler(answer)},
            ),
        )
    )
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(grace=None)


def test_grpc_check_calls_get_model_metadata(model_metadata_server: int) -> None:
    assert portforward.check_grpc(model_metadata_server, "mnist") is None
    problem = portforward.check_grpc(model_metadata_server, "fashion")
    assert problem is not None and "NOT_FOUND" in problem


def test_grpc_check_reports_an_unreachable_server() -> None:
    problem = portforward.check_grpc(free_port(), "mnist", timeout=1.0)
    assert problem is not None and ("UNAVAILABLE" in problem or "DEADLINE_EXCEEDED" in problem)


@pytest.mark.slow
def test_hand_encoded_request_equals_tensorflow_servings_own() -> None:
    from tensorflow_serving.apis import get_model_metadata_pb2

    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "mnist"
    request.metadata_field.append("signature_def")
    assert portforward.model_metadata_request("mnist") == request.SerializeToString()


def test_a_short_lived_forward_answers_and_leaves_nothing_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """kfp_session.forwarded with a stand-in kubectl that serves the KFP health path."""
    import psutil

    from fixtures.kfp.kfp_api import KfpEndpoint
    from fixtures.kfp.kfp_session import KFP_HEALTHZ, forwarded, kfp_forward

    site = tmp_path / "site"
    (site / KFP_HEALTHZ.lstrip("/")).parent.mkdir(parents=True)
    (site / KFP_HEALTHZ.lstrip("/")).write_text('{"commit_sha": "x"}')
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    stand_in_kubectl(bin_dir, site)
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    forward = kfp_forward(KfpEndpoint(context="kind-x"))
    assert forward.check == f"http:{KFP_HEALTHZ}" and forward.target == "svc/ml-pipeline"
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    with forwarded(forward, timeout=30) as address:
        assert portforward.check_http(int(address.rsplit(":", 1)[1]), KFP_HEALTHZ) is None
    after = {p.pid for p in psutil.Process().children(recursive=True)}
    assert after <= before  # the stand-in kubectl was stopped with the forward


def stand_in_kubectl(bin_dir: Path, site: Path) -> Path:
    """A kubectl in *bin_dir* whose ``port-forward`` serves *site* over HTTP, listening like
    kubectl on the LOCAL of its last LOCAL:REMOTE argument."""
    kubectl = bin_dir / "kubectl"
    kubectl.write_text(
        "#!/bin/sh\n"
        'for last in "$@"; do :; done\n'
        f'exec {sys.executable} -m http.server "${{last%%:*}}" --bind 127.0.0.1'
        f" --directory {site}\n"
    )
    kubectl.chmod(0o755)
    return kubectl


def test_a_supervisor_whose_harness_is_gone_stops_its_forwarder_and_says_why(
    tmp_path: Path,
) -> None:
    """Started by a pid that is not its parent (as if its harness died and it was adopted):
    it stops at its next turn, forwarder too, and the status file names the reason."""
    port = free_port()
    status_file = tmp_path / "status.json"
    supervisor = Supervisor(
        "orphan",
        [str(stand_in_kubectl(tmp_path, tmp_path)), f"{port}:80"],
        portforward.make_check("http:/", port),
        status_file,
        local_port=port,
        check_every=0.2,
        parent_pid=os.getppid() + 1,  # any pid but our parent's
    )
    thread = threading.Thread(target=supervisor.run, daemon=True)
    thread.start()
    try:
        thread.join(timeout=20)
        assert not thread.is_alive(), "the orphaned supervisor kept running"
    finally:  # a supervisor that missed its orphaning must not outlive the test, nor its forwarder
        supervisor.stop("the test is over")
        thread.join(timeout=20)
    status = portforward.read_status(status_file)
    assert status["state"] == "stopped", status
    assert "orphaned: the harness (pid" in status["detail"], status
    assert supervisor.process is None and is_port_free(port)


HARNESS = """
import subprocess, sys, time
from pathlib import Path
from fixtures.tools.portforward import Forward, supervisor_argv

port, status_file, kubectl = int(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
forward = Forward("web-ui", "kind-x", "ns", "svc/web-ui", 80, "http:/")
# as fixtures.processes.start does: a session of its own, out of reach of our group's signals
subprocess.Popen(supervisor_argv(forward, port, status_file, kubectl), start_new_session=True)
time.sleep(600)
"""


def test_a_supervisor_stops_itself_and_its_kubectl_when_its_harness_is_sigkilled(
    tmp_path: Path,
) -> None:
    """The harness is a real process that starts a real supervisor (``python -m fixtures
    port-forward``) and is then SIGKILLed, as a CI runner's ``kill -9`` does: no teardown
    runs, yet the supervisor and its kubectl are gone within seconds and the port is free."""
    import psutil

    port = free_port()
    status_file = tmp_path / "status.json"
    root = Path(__file__).resolve().parents[1]
    harness = subprocess.Popen(
        [
            sys.executable,
            "-c",
            HARNESS,
            str(port),
            str(status_file),
            str(stand_in_kubectl(tmp_path, tmp_path)),
        ],
        cwd=root,
    )
    try:
        ready = wait_for(status_file, lambda s: s.get("state") == "ready", timeout=60)
        started = [psutil.Process(ready["pid"]), psutil.Process(ready["forwarder_pid"])]
        assert started[0].ppid() == harness.pid
        harness.send_signal(signal.SIGKILL)
        harness.wait(timeout=10)
        _, alive = psutil.wait_procs(started, timeout=20)
        assert alive == [], f"still running after the harness was SIGKILLed: {alive}"
    finally:
        if harness.poll() is None:
            harness.kill()
            harness.wait()
        # never leak one, even when the test fails: the supervisor names the status file and
        # its forwarder (the stand-in kubectl's http.server) the test's folder, both in it
        for proc in psutil.process_iter():
            if str(tmp_path) in " ".join(_cmdline(proc)):
                proc.kill()
    status = portforward.read_status(status_file)
    assert status["state"] == "stopped", status
    assert status["detail"] == f"orphaned: the harness (pid {harness.pid}) that started it is gone"
    assert is_port_free(port)


def _cmdline(proc: Any) -> list[str]:
    import psutil

    try:
        return proc.cmdline()
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return []
