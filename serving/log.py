"""One-line progress messages on stderr, prefixed ``serving:`` and flushed at once.

The harness keeps the model server's stderr as a log and may read lines such as
``serving: gRPC on 127.0.0.1:9000`` in its diagnostics, so every line is written whole and
flushed immediately, never buffered until exit.
"""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()  # the poll thread and request threads both write


def say(message: str) -> None:
    """Write ``serving: <message>`` to stderr and flush."""
    with _lock:
        sys.stderr.write(f"serving: {message}\n")
        sys.stderr.flush()
