"""serving.http_body: a request body is read by Content-Length or chunked, within the limit;
bad framing is a 4xx (or 501) with the reason, never another exception."""

from __future__ import annotations

import http.client
import io
from http import HTTPStatus

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from serving.http_body import BodyError, read_body

LIMIT = 1000


def headers(*lines: str) -> http.client.HTTPMessage:
    return http.client.parse_headers(
        io.BytesIO("".join(f"{line}\r\n" for line in lines).encode() + b"\r\n")
    )


def body_of(head: list[str], data: bytes, limit: int = LIMIT) -> bytes:
    return read_body(headers(*head), io.BytesIO(data), limit)


def refused(head: list[str], data: bytes = b"", limit: int = LIMIT) -> BodyError:
    __tracebackhide__ = True
    with pytest.raises(BodyError) as raised:
        body_of(head, data, limit)
    return raised.value


def chunked(data: bytes, sizes: list[int]) -> bytes:
    out, at = b"", 0
    for size in sizes:
        piece = data[at : at + size]
        if piece:
            out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        at += size
    if at < len(data):
        out += f"{len(data) - at:X};ext=1\r\n".encode() + data[at:] + b"\r\n"
    return out + b"0\r\nX-Trailer: ignored\r\n\r\n"


def test_content_length_reads_exactly_that() -> None:
    assert body_of(["Content-Length: 5"], b"hello, and the next request") == b"hello"
    assert body_of(["Content-Length: 0"], b"") == b""
    assert body_of([], b"ignored") == b""


@pytest.mark.parametrize(
    "value", ["abc", "-5", "5.0", "0x10", "5 5", "", "+5", "\u0665"]
)  # the last: an Arabic-Indic 5
def test_a_content_length_that_is_no_number_is_400(value: str) -> None:
    error = refused([f"Content-Length: {value}"], b"hello")
    assert error.status == HTTPStatus.BAD_REQUEST
    assert "is not a number of bytes; send the body's length in decimal digits" in error.message


@pytest.mark.parametrize("value", [str(10**12), "1001", "9" * 5000])
def test_a_body_over_the_limit_is_413_before_it_is_read(value: str) -> None:
    class Unreadable(io.RawIOBase):
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("an over-limit body must not be read")

    with pytest.raises(BodyError) as raised:
        read_body(headers(f"Content-Length: {value}"), Unreadable(), LIMIT)
    assert raised.value.status == HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    assert f"over this server's limit of {LIMIT} bytes (--max_request_bytes)" in (
        raised.value.message
    )


def test_a_body_shorter_than_its_content_length_is_400() -> None:
    error = refused(["Content-Length: 10"], b"hello")
    assert error.status == HTTPStatus.BAD_REQUEST
    assert "ended after 5 of its 10 bytes" in error.message


def test_disagreeing_content_lengths_are_400() -> None:
    assert refused(["Content-Length: 5", "Content-Length: 6"], b"hello!").status == 400
    assert body_of(["Content-Length: 5", "Content-Length: 5"], b"hello") == b"hello"


def test_chunked_bodies_are_read() -> None:
    data = b'{"instances": [[0.0, 1.0]]}'
    assert body_of(["Transfer-Encoding: chunked"], chunked(data, [3, 10])) == data
    assert body_of(["Transfer-Encoding: Chunked"], b"0\r\n\r\n") == b""


@pytest.mark.parametrize(
    ("head", "data", "status", "text"),
    [
        (["Transfer-Encoding: gzip"], b"", 501, "Transfer-Encoding 'gzip' is not supported"),
        (["Transfer-Encoding: gzip, chunked"], b"", 501, "'gzip, chunked' is not supported"),
        (["Transfer-Encoding: chunked", "Content-Length: 3"], b"0\r\n\r\n", 400, "both Content-Length and Transfer-Encoding"),
        (["Transfer-Encoding: chunked"], b"zz\r\nhi\r\n0\r\n\r\n", 400, "chunk size 'zz' is not a hexadecimal number"),
        (["Transfer-Encoding: chunked"], b"5\r\nhi", 400, "ended early"),
        (["Transfer-Encoding: chunked"], b"2\r\nhiXX0\r\n\r\n", 400, "without CRLF"),
        (["Transfer-Encoding: chunked"], b"2\r\nhi\r\n", 400, "chunk-size line never ends"),
        (["Transfer-Encoding: chunked"], b"1" * 5000, 400, "longer than 4096 bytes"),
        (["Transfer-Encoding: chunked"], b"3e9\r\n", 413, "over this server's limit of 1000 bytes"),
        (["Transfer-Encoding: chunked"], b"f" * 40 + b"\r\n", 413, "over this server's limit"),
        (["Transfer-Encoding: chunked"], b"0\r\n" + b"X: y\r\n" * 101, 400, "more than 100 trailer lines"),
    ],
)  # fmt: skip
def test_bad_chunked_framing_is_refused_with_the_reason(head, data, status, text) -> None:
    error = refused(head, data)
    assert error.status == status
    assert text in error.message


def test_chunks_adding_up_past_the_limit_are_413() -> None:
    data = chunked(b"x" * 1200, [300, 300, 300, 300])
    assert refused(["Transfer-Encoding: chunked"], data).status == 413


@given(data=st.binary(max_size=LIMIT), sizes=st.lists(st.integers(1, 300), max_size=10))
def test_any_chunking_of_a_body_reads_back_the_body(data: bytes, sizes: list[int]) -> None:
    assert body_of(["Transfer-Encoding: chunked"], chunked(data, sizes)) == data


HEADER_TEXT = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=30)


@given(
    length=st.lists(HEADER_TEXT, max_size=2),
    coding=st.lists(HEADER_TEXT, max_size=2),
    data=st.binary(max_size=2 * LIMIT),
)
@example(length=["-5"], coding=[], data=b"")
@example(length=[str(10**12)], coding=[], data=b"")
def test_any_framing_is_a_body_within_the_limit_or_a_body_error(length, coding, data) -> None:
    head = [f"Content-Length: {v}" for v in length] + [f"Transfer-Encoding: {v}" for v in coding]
    try:
        body, error = body_of(head, data), None
    except BodyError as refusal:
        body, error = b"", refusal
    if error is not None:
        assert error.status in (400, 413, 501)
        assert error.message
    assert len(body) <= LIMIT
