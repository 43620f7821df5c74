"""Run the metadata server: open the store, bind gRPC, serve until told to stop, stop cleanly.

Shutdown order on SIGTERM/SIGINT: gRPC stops accepting calls and gives those in flight a
grace period, then the store's connection is closed (SQLite finishes its journal, so nothing
is left beside the database file). Exit code 0 means a clean stop (also when told to stop
while still waiting for MySQL); 1 means the store could not be opened or the port bound,
with the reason on stderr.
"""

from __future__ import annotations

import threading
from concurrent import futures
from typing import Final

import grpc

from metadata_server.command_line import ServerFlags
from metadata_server.service import build_handler, unsupported_methods
from metadata_server.stderr_log import say
from metadata_server.store import Store, StoreOpenError

# Kubernetes waits 30 s after SIGTERM before it kills; in-flight calls get a fraction of it.
GRACE_SECONDS: Final = 5.0
# The store extension holds the GIL while it runs, so more threads would only queue.
WORKER_THREADS: Final = 8


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def serve(flags: ServerFlags, stop: threading.Event) -> int:
    """Serve until *stop* is set; return the process exit code."""
    say(f"opening {flags.describe_store()}")
    try:
        store = Store.open(flags, stop)
    except StoreOpenError as exc:
        if stop.is_set():  # told to stop while waiting for the database: a clean stop
            say("stopped before the store was open")
            return 0
        say(str(exc))
        return 1
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=WORKER_THREADS, thread_name_prefix="mlmd"),
        handlers=[build_handler(store)],
        options=list(flags.channel_arguments),
    )
    try:
        address = _hostport(flags.host, flags.port)
        try:
            server.add_insecure_port(address)
        except RuntimeError as exc:  # grpcio raises when the port cannot be bound
            say(f"cannot listen on {address}: {exc}; is --grpc_port {flags.port} in use?")
            return 1
        server.start()
        missing = unsupported_methods()
        say(
            f"MetadataStoreService on {address}"
            + (f" (UNIMPLEMENTED: {', '.join(missing)})" if missing else "")
        )
        stop.wait()
        say("shutting down")
        return 0
    finally:
        server.stop(GRACE_SECONDS).wait()
        store.close()
        say("stopped")
