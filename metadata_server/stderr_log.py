"""One-line progress messages on stderr, prefixed ``metadata_server:`` and flushed at once.

The pod's log (and a test's log file) is read while the server runs, so every line is
written whole and flushed immediately, never buffered until exit. The C++ store's own
warnings (glog) go to the same stderr.
"""

from __future__ import annotations

import sys
import threading

_lock = threading.Lock()  # request threads and the main thread both write


def say(message: str) -> None:
    """Write ``metadata_server: <message>`` to stderr and flush."""
    with _lock:
        sys.stderr.write(f"metadata_server: {message}\n")
        sys.stderr.flush()
