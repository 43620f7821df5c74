"""The local serving stack for benchmarks: a SavedModel export, the model server, the web UI.

The servers start and are waited for by the local platform's own launch
(fixtures.platforms.local_servers) and are recorded in a ledger, so stopping them is the same
ledger-driven teardown the e2e run uses.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fixtures.created.teardown_plan import teardown
from fixtures.ledger import Ledger
from fixtures.platforms.local_servers import (
    Launch,
    start_model_server,
    start_web_ui,
    wait_http,
    wait_model_server,
)

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


@contextmanager
def local_stack(export_base: Path, workdir: Path, *, with_ui: bool) -> Iterator[Stack]:
    """Start the model server on *export_base* (and the web UI), as the local platform's
    steps start them, and wait for each the same way; stop both on exit."""
    ledger = Ledger(workdir / "ledger.jsonl")
    launch = Launch(
        ledger, workdir / "logs", REPO_ROOT, {"PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    )
    try:
        server = start_model_server(launch, str(export_base))
        ui = start_web_ui(launch, server.address) if with_ui else None
        wait_model_server(server, READY_TIMEOUT)
        if ui is not None:
            wait_http(ui, ("/readyz",), READY_TIMEOUT)
        yield Stack(server.address, ui.address if ui else None, launch.logs_dir)
    finally:
        for line in teardown(ledger.resources()):
            print(f"  teardown: {line}")
