"""A REST request's body, read within ``--max_request_bytes``: by Content-Length, or chunked.

Bad framing — a Content-Length that is not a decimal number, two that disagree, both it and
Transfer-Encoding, a chunk size that is not hexadecimal, a body that ends early — is a 400; a
body over the limit is a 413, refused before it is read; a transfer coding other than
``chunked`` is a 501 (RFC 9112). After any of these the connection is no longer at a request
boundary, so the caller answers and closes it. No TensorFlow here.
"""

from __future__ import annotations

import re
from email.message import Message
from http import HTTPStatus
from typing import BinaryIO, Final

from serving.limits import BYTES_FLAG

MAX_LINE: Final = 4096  # a chunk-size line or a trailer line
MAX_TRAILER_LINES: Final = 100
_DECIMAL: Final = re.compile(r"[0-9]+")
_HEX: Final = re.compile(rb"[0-9A-Fa-f]+")


class BodyError(Exception):
    """The body cannot be read: *status* is the HTTP answer, *message* says why and the fix."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _shown(text: str | bytes) -> str:
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    return repr(text if len(text) <= 40 else f"{text[:40]}…")


def _too_big(size: int | str, max_bytes: int) -> BodyError:
    return BodyError(
        HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
        f"request body of {size} bytes is over this server's limit of {max_bytes} bytes"
        f" ({BYTES_FLAG}); send a smaller batch",
    )


def read_body(headers: Message, stream: BinaryIO, max_bytes: int) -> bytes:
    """The body of the request whose *headers* were read from *stream*; BodyError if bad."""
    codings = [
        coding.strip().lower()
        for header in headers.get_all("Transfer-Encoding") or []
        for coding in header.split(",")
        if coding.strip()
    ]
    lengths = [value.strip() for value in headers.get_all("Content-Length") or []]
    if codings:
        if codings != ["chunked"]:
            raise BodyError(
                HTTPStatus.NOT_IMPLEMENTED,
                f"Transfer-Encoding {', '.join(codings)!r} is not supported; send the body"
                " with a Content-Length or Transfer-Encoding: chunked",
            )
        if lengths:
            raise BodyError(
                HTTPStatus.BAD_REQUEST,
                "the request has both Content-Length and Transfer-Encoding; send one of them",
            )
        return _read_chunked(stream, max_bytes)
    if not lengths:
        return b""
    if len(set(lengths)) != 1:
        raise BodyError(
            HTTPStatus.BAD_REQUEST,
            f"Content-Length is given {len(lengths)} times with different values"
            f" ({', '.join(_shown(v) for v in lengths[:3])}); send it once",
        )
    text = lengths[0]
    if _DECIMAL.fullmatch(text) is None:
        raise BodyError(
            HTTPStatus.BAD_REQUEST,
            f"Content-Length {_shown(text)} is not a number of bytes; send the body's length"
            " in decimal digits",
        )
    digits = text.lstrip("0")
    if len(digits) > len(str(max_bytes)) or int(text) > max_bytes:  # length first: int()
        raise _too_big(digits if len(digits) <= 40 else f"{digits[:40]}…", max_bytes)
    length = int(text)
    body = stream.read(length)
    if len(body) != length:
        raise BodyError(
            HTTPStatus.BAD_REQUEST,
            f"the request body ended after {len(body)} of its {length} bytes (Content-Length)",
        )
    return body


def _line(stream: BinaryIO, what: str) -> bytes:
    line = stream.readline(MAX_LINE + 1)
    if not line.endswith(b"\n"):
        problem = f"is longer than {MAX_LINE} bytes" if len(line) > MAX_LINE else "never ends"
        raise BodyError(HTTPStatus.BAD_REQUEST, f"a chunked body's {what} line {problem}")
    return line


def _read_chunked(stream: BinaryIO, max_bytes: int) -> bytes:
    body = bytearray()
    while True:
        size_text = _line(stream, "chunk-size").split(b";", 1)[0].strip()
        if _HEX.fullmatch(size_text) is None:
            raise BodyError(
                HTTPStatus.BAD_REQUEST,
                f"chunk size {_shown(size_text)} is not a hexadecimal number",
            )
        if len(size_text.lstrip(b"0")) > len(f"{max_bytes:x}"):
            raise _too_big(f"more than {max_bytes}", max_bytes)
        size = int(size_text, 16)
        if size == 0:
            break
        if len(body) + size > max_bytes:
            raise _too_big(f"more than {max_bytes}", max_bytes)
        chunk = stream.read(size)
        if len(chunk) != size or stream.read(2) != b"\r\n":
            raise BodyError(
                HTTPStatus.BAD_REQUEST,
                f"a chunk of {size} bytes ended early or without CRLF after"
                f" {len(body) + len(chunk)} bytes of the body",
            )
        body += chunk
    for _ in range(MAX_TRAILER_LINES):  # trailer fields: read and ignored
        if _line(stream, "trailer") in (b"\r\n", b"\n"):
            return bytes(body)
    raise BodyError(
        HTTPStatus.BAD_REQUEST, f"a chunked body has more than {MAX_TRAILER_LINES} trailer lines"
    )
