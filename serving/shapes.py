"""Shapes as clients read them, and whether a request's shape fits the signature's. No TensorFlow."""

from __future__ import annotations

from collections.abc import Sequence

from serving.status_errors import invalid_argument


def shape_text(dims: Sequence[int] | None) -> str:
    """``[-1, 784]``; ``<unknown rank>`` for None."""
    return "<unknown rank>" if dims is None else f"[{', '.join(str(d) for d in dims)}]"


def check_shape(
    name: str, shape: Sequence[int], expected: Sequence[int] | None, signature_name: str
) -> None:
    """*shape* (of input *name*) must fit *expected* (-1: any size; None: any shape)."""
    if expected is None:
        return
    fits = len(shape) == len(expected) and all(
        want < 0 or got == want for got, want in zip(shape, expected, strict=True)
    )
    if not fits:
        raise invalid_argument(
            f"input {name!r} has shape {shape_text(shape)} but signature {signature_name!r}"
            f" expects {shape_text(expected)} (-1: any size); reshape the input to match"
        )
