"""Warm latency of the web UI, with the model server behind it, as the local platform runs them.

``/healthz`` is the floor (Flask and HTTP alone); ``/api/predict`` adds the gRPC call;
``/`` adds the HTML; ``/digit/N.png`` is the image the page loads next.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from benchmarks.output import format_table
from benchmarks.stack import export_model, local_stack
from benchmarks.stats import Latency

ROUTES = {
    "healthz": "/healthz",
    "api/predict": "/api/predict?index={index}",
    "page": "/?index={index}",
    "digit png": "/digit/{index}.png",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this benchmark's options on its sub-command."""
    parser.add_argument("--calls", type=int, default=300, help="timed requests per route (300)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first (20)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (5)")
    parser.add_argument("--model", choices=["cnn", "linear"], default="cnn")


def get(url: str) -> float:
    """Seconds until the whole body of ``GET url`` arrived; a non-200 answer is an error."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:  # loopback only
        response.read()
        if response.status != 200:
            raise RuntimeError(f"GET {url}: {response.status}")
    return time.perf_counter() - started


def measure(base_url: str, calls: int, warmup: int, rounds: int) -> dict[str, Latency]:
    """Latency per route; routes alternate in *rounds*; indices cycle over 0..99."""
    durations: dict[str, list[float]] = {name: [] for name in ROUTES}
    for number in range(warmup):
        for route in ROUTES.values():
            get(base_url + route.format(index=number % 100))
    per_round = max(1, calls // rounds)
    for number in range(rounds):
        for name, route in ROUTES.items():
            for call in range(per_round):
                index = (number * per_round + call) % 100
                durations[name].append(get(base_url + route.format(index=index)))
    return {name: Latency.of(seconds) for name, seconds in durations.items()}


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Measure; return the table and the JSON results."""
    with contextlib.ExitStack() as cleanup:
        tmp = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="mnist-bench-")))
        export_model(tmp / "export", args.model)
        stack = cleanup.enter_context(local_stack(tmp / "export", tmp, with_ui=True))
        assert stack.ui_url is not None
        latencies = measure(stack.ui_url, args.calls, args.warmup, args.rounds)
    rows = [
        [name, ROUTES[name], lat.p50_ms, lat.p99_ms, lat.calls_per_second]
        for name, lat in latencies.items()
    ]
    table = format_table(["route", "path", "p50 ms", "p99 ms", "requests/s (1 client)"], rows)
    return table, {
        "model": args.model,
        "routes": {
            name: {"path": ROUTES[name], **lat.as_dict()} for name, lat in latencies.items()
        },
    }
