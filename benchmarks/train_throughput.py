"""Training throughput of the cnn and linear models beside this machine's compute ceiling.

Runs the training program's own pieces (model.training, model.networks) in this process on
the shipped sample: steps/s and images/s after the first (tracing) step, the FLOPs each image
costs, and the fraction of the machine's achievable float32 matmul rate that makes.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from benchmarks.flops import count_keras
from benchmarks.output import format_table

MATMUL_SIZES = (2048, 4096)  # small ones under-use the cores; 4096 reaches the plateau


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this benchmark's options on its sub-command."""
    parser.add_argument("--steps", type=int, default=200, help="timed steps per model (200)")
    parser.add_argument("--batch-size", type=int, default=100, help="batch size (100)")
    parser.add_argument("--models", nargs="+", default=["cnn", "linear"], choices=["cnn", "linear"])


def import_tensorflow() -> float:
    """Import TensorFlow; return the seconds it took (0 if it was already imported)."""
    import sys

    if "tensorflow" in sys.modules:
        return 0.0
    started = time.perf_counter()
    import tensorflow  # noqa: F401

    return time.perf_counter() - started


def matmul_gflops(size: int, repeats: int = 3, per_repeat: int = 3) -> float:
    """The best float32 GFLOP/s of ``size``² matmuls, timed *repeats* times."""
    import tensorflow as tf

    a = tf.random.normal((size, size), dtype=tf.float32, seed=1)
    b = tf.random.normal((size, size), dtype=tf.float32, seed=2)
    tf.linalg.matmul(a, b).numpy()  # warm: thread pools, oneDNN kernels
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(per_repeat):
            result = tf.linalg.matmul(a, b)
        result.numpy()  # eager CPU ops are synchronous; this makes sure the last one finished
        best = min(best, (time.perf_counter() - started) / per_repeat)
    return 2 * size**3 / best / 1e9


def matmul_peak_gflops() -> dict[int, float]:
    """GFLOP/s of big float32 matmuls by size: the best is what TF can reach on this CPU."""
    return {size: matmul_gflops(size) for size in MATMUL_SIZES}


def measure_model(model_type: str, steps: int, batch_size: int) -> dict[str, Any]:
    """Train *model_type* for *steps* timed steps; throughput and FLOP count."""
    import tensorflow as tf

    from model import networks, training
    from model.data import load_mnist

    data = load_mnist()
    training.seed_everything(42)
    dataset = training.train_dataset(data.train_images, data.train_labels, batch_size, 42)
    strategy = tf.distribute.get_strategy()
    model = networks.build(model_type)
    optimizer = training.make_optimizer(model_type, 0.01)
    train_step = training.make_train_step(model, optimizer, strategy, batch_size)
    batches = iter(dataset)

    started = time.perf_counter()
    float(train_step(batches))  # traces the tf.function: a one-off cost each process pays
    first_step = time.perf_counter() - started
    for _ in range(5):
        train_step(batches)
    started = time.perf_counter()
    for _ in range(steps):
        loss = train_step(batches)
    float(loss)
    seconds = time.perf_counter() - started
    flops = count_keras(model)
    return {
        "model": model_type,
        "steps": steps,
        "batch_size": batch_size,
        "first_step_seconds": first_step,
        "seconds": seconds,
        "steps_per_second": steps / seconds,
        "images_per_second": steps * batch_size / seconds,
        "flops": flops.as_dict(),
    }


def run(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """Measure; return the table and the JSON results."""
    import_seconds = import_tensorflow()
    by_size = matmul_peak_gflops()
    peak = max(by_size.values())
    results = []
    for model_type in args.models:
        result = measure_model(model_type, args.steps, args.batch_size)
        achieved = result["images_per_second"] * result["flops"]["train_flops"] / 1e9
        result["achieved_gflops"] = achieved
        result["fraction_of_peak"] = achieved / peak
        # What the compute alone would allow: the ceiling the loop's overheads keep it from.
        result["ceiling_images_per_second"] = peak * 1e9 / result["flops"]["train_flops"]
        results.append(result)
    rows = [
        [
            r["model"],
            r["steps_per_second"],
            r["images_per_second"],
            r["flops"]["train_flops"] / 1e6,
            r["achieved_gflops"],
            r["ceiling_images_per_second"],
            f"{100 * r['fraction_of_peak']:.1f}%",
            r["first_step_seconds"],
        ]
        for r in results
    ]
    table = format_table(
        [
            "model",
            "steps/s",
            "images/s",
            "MFLOP/image (train)",
            "GFLOP/s",
            "ceiling images/s",
            "of peak",
            "first step s",
        ],
        rows,
    )
    table += (
        f"\npeak: {peak:.0f} GFLOP/s (best float32 matmul of sizes {', '.join(map(str, by_size))}, "
        "TensorFlow, all cores); "
        f"TensorFlow import {import_seconds:.1f}s"
    )
    return table, {
        "peak_gflops": peak,
        "matmul_gflops_by_size": by_size,
        "tensorflow_import_seconds": import_seconds,
        "models": results,
    }
