"""gRPC Predict against the local model server beside a direct call of the same SavedModel.

One run, same export, same input: the direct call is ``serving_default`` loaded in this
process; the gRPC call goes over loopback to ``python -m serving`` (or tensorflow_model_server
when it is on PATH), exactly as the local platform starts it. Their ratio is what serving
costs on top of the model. Throughput is images/s with several callers at once. Only the direct
path imports TensorFlow; the gRPC clients use tf_serving_api, as real clients here do.
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.output import format_table
from benchmarks.stack import export_model, local_stack
from benchmarks.stats import Latency

BATCHES = (1, 100)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this benchmark's options on its sub-command."""
    parser.add_argument("--calls", type=int, default=300, help="timed calls per case (300)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (5)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed calls first (20)")
    parser.add_argument(
        "--threads", type=int, default=4, help="concurrent callers for throughput (4)"
    )
    parser.add_argument(
        "--seconds", type=float, default=4.0, help="duration of each throughput run (4)"
    )
    parser.add_argument("--model", choices=["cnn", "linear"], default="cnn")


def time_calls(call: Callable[[], object], calls: int, warmup: int) -> list[float]:
    """Durations (seconds) of *calls* back-to-back calls, after *warmup* untimed ones."""
    for _ in range(warmup):
        call()
    durations = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        durations.append(time.perf_counter() - started)
    return durations


def interleaved(
    calls_by_path: dict[str, Callable[[], object]], calls: int, warmup: int, rounds: int
) -> dict[str, list[float]]:
    """Durations per path, measured in *rounds* alternating rounds.

    Alternating spreads any drift of a shared machine (clock boost, a noisy neighbour) over
    every path instead of charging it to whichever ran last.
    """
    durations: dict[str, list[float]] = {path: [] for path in calls_by_path}
    per_round = max(1, calls // rounds)
    for number in range(rounds):
        for path, call in calls_by_path.items():
            durations[path] += time_calls(call, per_round, warmup if number == 0 else 0)
    return durations


def throughput(call: Callable[[], object], threads: int, seconds: float) -> float:
    """Calls per second that *threads* callers complete together in *seconds*."""
    done = [0] * threads
    deadline = time.perf_counter() + seconds

    def caller(slot: int) -> None:
        while time.perf_counter() < deadline:
            call()
            done[slot] += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=caller, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / (time.perf_counter() - started)


def _direct_call(export_path: Path, images: Any) -> Callable[[], object]:
    import tensorflow as tf

    signature = tf.saved_model.load(str(export_path)).signatures["serving_default"]
    x = tf.constant(images)

    def call() -> object:
        # .numpy() on both outputs: the gRPC answer is materialised too.
        return {k: v.numpy() for k, v in signature(x=x).items()}

    return call


def _grpc_call(stub: Any, images: Any) -> Callable[[], object]:
    from model.contract import INPUT_KEY, MODEL_NAME, SIGNATURE_NAME
    from tf_serving_api.protos import predict_pb2
    from tf_serving_api.tensor_util import make_tensor_proto

    request = predict_pb2.PredictRequest()
    request.model_spec.name = MODEL_NAME
    request.model_spec.signature_name = SIGNATURE_NAME
    request.inputs[INPUT_KEY].CopyFrom(make_tensor_proto(images))

    def call() -> object:
        return stub.Predict(request, timeout=30)

    return call


def _client_call(client: Any, images: Any) -> Callable[[], object]:
    return lambda: client.predict(images)


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Measure; return the table and the JSON results."""
    import grpc

    from model.data import load_test_digits
    from tf_serving_api.protos import prediction_service_pb2_grpc

    images, _ = load_test_digits()
    cases: list[dict[str, Any]] = []
    with contextlib.ExitStack() as cleanup:
        tmp = Path(cleanup.enter_context(tempfile.TemporaryDirectory(prefix="mnist-bench-")))
        export_path = export_model(tmp / "export", args.model)
        stack = cleanup.enter_context(local_stack(tmp / "export", tmp, with_ui=False))
        channel = cleanup.enter_context(grpc.insecure_channel(stack.grpc_target))
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        client = _predict_client(stack.grpc_target, cleanup)
        for batch in BATCHES:
            inputs = images[:batch]
            paths = {
                "direct": _direct_call(export_path, inputs),
                "grpc": _grpc_call(stub, inputs),
            }
            if client is not None:
                paths["grpc via PredictClient"] = _client_call(client, inputs)
            durations = interleaved(paths, args.calls, args.warmup, args.rounds)
            for how, call in paths.items():
                latency = Latency.of(durations[how])
                rate = throughput(call, args.threads, args.seconds)
                cases.append(
                    {
                        "batch": batch,
                        "path": how,
                        "latency": latency.as_dict(),
                        "images_per_second_1_caller": batch * latency.calls_per_second,
                        "images_per_second_threads": batch * rate,
                        "threads": args.threads,
                    }
                )
    for case in cases:
        direct = next(c for c in cases if c["batch"] == case["batch"] and c["path"] == "direct")
        case["overhead_ratio_p50"] = case["latency"]["p50_ms"] / direct["latency"]["p50_ms"]
    rows = [
        [
            c["batch"],
            c["path"],
            c["latency"]["p50_ms"],
            c["latency"]["p99_ms"],
            c["images_per_second_1_caller"],
            c["images_per_second_threads"],
            f"{c['overhead_ratio_p50']:.2f}x",
        ]
        for c in cases
    ]
    table = format_table(
        [
            "batch",
            "path",
            "p50 ms",
            "p99 ms",
            "images/s (1 caller)",
            f"images/s ({args.threads} callers)",
            "p50 / direct",
        ],
        rows,
    )
    return table, {"model": args.model, "calls": args.calls, "cases": cases}


def _predict_client(target: str, cleanup: contextlib.ExitStack) -> Any:
    """The web UI's own gRPC client when web_ui is importable (closed by *cleanup*), else None."""
    try:
        from web_ui.predict_client import PredictClient
    except ImportError:
        return None
    from model.contract import MODEL_NAME

    return cleanup.enter_context(PredictClient(target, MODEL_NAME, timeout=30.0))
