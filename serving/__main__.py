"""``python -m serving --port 9000 --rest_api_port 8500 --model_name mnist --model_base_path P``."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from serving.flags import parse


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags, serve until SIGTERM or SIGINT, return the exit code."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # First thing, so a signal during start-up still ends cleanly.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    flags = parse(sys.argv[1:] if argv is None else argv, os.environ)
    # TensorFlow's C++ start-up chatter (CPU features, oneDNN) hides the server's own lines.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # oneDNN's own allocator (TensorFlow's default on x86) pools freed memory for good: one
    # large batch would keep the server at its high-water mark. With the system allocator,
    # serving.memory can hand it back after the request (see there for the numbers).
    os.environ.setdefault("TF_ONEDNN_USE_SYSTEM_ALLOCATOR", "1")
    from serving.server import serve  # gRPC and the protos: only once the flags are good

    if stop.is_set():
        return 0
    return serve(flags, stop)


if __name__ == "__main__":
    code = main()
    # Everything is stopped and closed by now. Interpreter exit would then spend most of a
    # second tearing TensorFlow down, on every run's teardown, for nothing: skip it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
