"""Run the model server: bind gRPC (and REST), poll for versions, stop cleanly when told.

TensorFlow is imported in the background as soon as the ports are bound: the request path
needs only the protos (tf_serving_api), and a server started beside the trainer would
otherwise import it when the first version appears — seconds on the critical path, just as
training ends. Started at once, the import overlaps the trainer's own start-up instead.

Shutdown order on SIGTERM/SIGINT: health turns NOT_SERVING, REST stops accepting, gRPC
stops accepting and gives in-flight calls a grace period, the poller finishes any load in
progress, and the private gs:// cache is removed. Exit code 0 means a clean stop.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Final

from serving.flags import ServerFlags
from serving.grpc_service import Health, build_server
from serving.log import say
from serving.manager import ModelManager
from serving.rest import RestApi
from serving.storage import open_store

# The harness (fixtures/processes.py) waits 10 s after SIGTERM before it kills: in-flight
# calls get GRACE_SECONDS, a load in progress LOAD_WAIT_SECONDS, and exit still comes first.
GRACE_SECONDS: Final = 3.0
LOAD_WAIT_SECONDS: Final = 5.0


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _import_tensorflow() -> None:
    # A failure here is not lost: the first load imports it again and reports why it fails.
    with contextlib.suppress(Exception):
        import serving.servable  # noqa: F401 -- TensorFlow, for the first load


def serve(flags: ServerFlags, stop: threading.Event) -> int:
    """Serve until *stop* is set; return the process exit code."""
    store = open_store(flags.model_base_path)
    health = Health()
    manager = ModelManager(
        flags.model_name,
        store,
        flags.file_system_poll_wait_seconds,
        on_serving=health.set_serving,
    )
    grpc_server = build_server(manager, health, flags.limits)
    rest: RestApi | None = None
    try:
        address = _hostport(flags.host, flags.port)
        try:
            port = grpc_server.add_insecure_port(address)
        except RuntimeError as exc:  # grpcio raises when the port cannot be bound
            say(f"cannot listen for gRPC on {address}: {exc}; is --port {flags.port} in use?")
            return 1
        grpc_server.start()
        say(f"gRPC on {_hostport(flags.host, port)}")
        if flags.rest_api_port:
            try:
                rest = RestApi(
                    manager,
                    flags.host,
                    flags.rest_api_port,
                    flags.limits,
                    flags.rest_api_num_threads or None,
                )
            except OSError as exc:
                say(
                    f"cannot listen for REST on {_hostport(flags.host, flags.rest_api_port)}:"
                    f" {exc}; is --rest_api_port {flags.rest_api_port} in use?"
                )
                return 1
            rest.start()
            say(f"REST on {rest.address}")
        say(
            f"serving model {flags.model_name} from {flags.model_base_path}, polling every"
            f" {flags.file_system_poll_wait_seconds:g} s; requests up to"
            f" {flags.limits.max_rows} rows and {flags.limits.max_bytes} bytes"
        )
        threading.Thread(target=_import_tensorflow, name="tensorflow-import", daemon=True).start()
        manager.start()
        stop.wait()
        say("shutting down")
        return 0
    finally:
        health.shutting_down()
        if rest is not None:
            rest.stop()
        grpc_server.stop(GRACE_SECONDS).wait()
        manager.stop(LOAD_WAIT_SECONDS)
        store.close()
        say("stopped")
