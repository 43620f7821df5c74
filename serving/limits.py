"""How big one request may be: at least one row, at most ``--max_request_rows`` rows and
``--max_request_bytes`` bytes — checked on the declared shape, before anything is allocated.

TF Serving has no such caps of its own (its gRPC message limit is the protobuf maximum, and a
typed-field tensor may declare far more values than it carries: TensorFlow repeats the last
one). Here a 37-byte request declaring ``[10**9, 784]`` is refused in microseconds, naming
the flag, instead of allocating terabytes. No TensorFlow here.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from serving.shapes import shape_text
from serving.status_errors import invalid_argument

# The whole MNIST test set (10,000 digits) fits in one request; its float32 pixels are 31 MB.
DEFAULT_MAX_ROWS: Final = 10_000
DEFAULT_MAX_BYTES: Final = 64 * 1024 * 1024
ROWS_FLAG: Final = "--max_request_rows"
BYTES_FLAG: Final = "--max_request_bytes"


@dataclass(frozen=True)
class RequestLimits:
    """The caps on one request: rows (the first dimension) and bytes (body, tensor)."""

    max_rows: int = DEFAULT_MAX_ROWS
    max_bytes: int = DEFAULT_MAX_BYTES


DEFAULT_LIMITS: Final = RequestLimits()


def check_batch(
    name: str, shape: Sequence[int], itemsize: int, limits: RequestLimits = DEFAULT_LIMITS
) -> None:
    """Input *name* of *shape* (``itemsize`` bytes a value) must hold a batch within *limits*.

    An empty batch is refused as well: TF Serving's REST API refuses an empty ``instances``
    list, and a model handed zero rows fails inside its graph (for the MNIST CNN: "input depth
    must be evenly divisible by filter depth"), which tells a client nothing it can act on.
    """
    rows = shape[0] if shape else 1
    if rows == 0:
        raise invalid_argument(
            f"input {name!r} has shape {shape_text(shape)}: an empty batch; send at least one"
            " instance"
        )
    if rows > limits.max_rows:
        raise invalid_argument(
            f"input {name!r} has {rows} rows (shape {shape_text(shape)}), over this server's"
            f" limit of {limits.max_rows} rows a request ({ROWS_FLAG}); split the batch"
        )
    size = math.prod(shape) * itemsize
    if size > limits.max_bytes:
        raise invalid_argument(
            f"input {name!r} of shape {shape_text(shape)} is {size} bytes, over this server's"
            f" limit of {limits.max_bytes} bytes a request ({BYTES_FLAG}); split the batch"
        )
