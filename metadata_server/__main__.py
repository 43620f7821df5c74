"""``python -m metadata_server --grpc_port 8080 [--sqlite PATH | --mysql_config_host H ...]``."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from metadata_server.command_line import parse


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the flags, serve until SIGTERM or SIGINT, return the exit code."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    # First thing, so a signal while the store opens (MySQL retries) still ends cleanly.
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    flags = parse(sys.argv[1:] if argv is None else argv, os.environ)
    # Loads the C++ store: only once the flags are good.
    from metadata_server.grpc_server import serve

    return serve(flags, stop)


if __name__ == "__main__":
    sys.exit(main())
