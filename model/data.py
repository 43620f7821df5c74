"""MNIST as IDX files: read and write them, download them from the canonical mirrors, load them.

The four files keep their canonical names in every directory (the shipped sample, a
``--tf-data-dir``, a download). Reading validates what the IDX header promises (magic number,
dimensions, size), so a corrupt, truncated or missing file fails with an error naming it.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import struct
import urllib.error
import urllib.request
import uuid
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np

from model.contract import IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES

log = logging.getLogger(__name__)

SAMPLE_DIR: Final = Path(__file__).resolve().parent / "sample"

TRAIN_IMAGES: Final = "train-images-idx3-ubyte.gz"
TRAIN_LABELS: Final = "train-labels-idx1-ubyte.gz"
TEST_IMAGES: Final = "t10k-images-idx3-ubyte.gz"
TEST_LABELS: Final = "t10k-labels-idx1-ubyte.gz"
FILE_NAMES: Final = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

# The well-known MD5s of the full MNIST files, as served by every mirror.
MNIST_MD5: Final[Mapping[str, str]] = {
    TRAIN_IMAGES: "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    TRAIN_LABELS: "d53e105ee54ea40749a09fcbcd1e9432",
    TEST_IMAGES: "9fb629c4189551a2d022fa330f9573f3",
    TEST_LABELS: "ec29112dd5afa0611ce80d1b7f02629c",
}

# Tried in order: the CVDF mirror the original Kubeflow example used, then PyTorch's mirror.
MIRRORS: Final = (
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
)

# IDX magic numbers: two zero bytes, the element type (0x08 = unsigned byte), the rank.
IDX_UBYTE: Final = 0x08
IMAGES_MAGIC: Final = 0x00000803
LABELS_MAGIC: Final = 0x00000801

DOWNLOAD_TIMEOUT_SECONDS: Final = 60.0
_CHUNK: Final = 1 << 16


class MnistFileError(ValueError):
    """An MNIST file is missing, unreadable, or not the IDX data its name promises."""


class DownloadError(RuntimeError):
    """No mirror delivered an MNIST file with the expected checksum."""


@dataclass(frozen=True)
class MnistData:
    """MNIST as the models take it: flat float32 images in 0..1 and int64 labels."""

    train_images: np.ndarray  # float32 [N, 784]
    train_labels: np.ndarray  # int64 [N]
    test_images: np.ndarray  # float32 [M, 784]
    test_labels: np.ndarray  # int64 [M]


# -- IDX format ------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    """Read a gzip-compressed unsigned-byte IDX file into an array of the shape it declares."""
    try:
        with gzip.open(path, "rb") as stream:
            raw = stream.read()
    except FileNotFoundError as exc:
        raise MnistFileError(f"{path}: no such file") from exc
    except (OSError, EOFError, zlib.error) as exc:
        # gzip raises BadGzipFile (an OSError) for a non-gzip file and EOFError when cut short.
        raise MnistFileError(
            f"{path}: not a complete gzip file ({exc}); delete it and fetch it again"
        ) from exc
    if len(raw) < 4:
        raise MnistFileError(f"{path}: truncated, {len(raw)} bytes is shorter than an IDX header")
    zeros, dtype, rank = struct.unpack(">HBB", raw[:4])
    if zeros != 0 or dtype != IDX_UBYTE or rank == 0:
        raise MnistFileError(
            f"{path}: bad IDX magic number 0x{raw[:4].hex()}; expected 0x{IMAGES_MAGIC:08x}"
            f" (images) or 0x{LABELS_MAGIC:08x} (labels)"
        )
    header_size = 4 + 4 * rank
    if len(raw) < header_size:
        raise MnistFileError(f"{path}: truncated inside the IDX header ({len(raw)} bytes)")
    shape = struct.unpack(f">{rank}I", raw[4:header_size])
    expected = header_size + int(np.prod(shape, dtype=np.int64))
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "has trailing bytes"
        raise MnistFileError(
            f"{path}: {what}: the header declares shape {list(shape)} ({expected} bytes),"
            f" the file holds {len(raw)} bytes"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(shape)


def write_idx(path: Path, array: np.ndarray) -> None:
    """Write a uint8 array as a gzip-compressed IDX file whose bytes depend only on the array.

    The gzip header gets mtime 0 and no file name, so writing the same array twice gives the
    same bytes (and the same MD5).
    """
    if array.dtype != np.uint8 or array.ndim == 0:
        raise ValueError(f"IDX needs a uint8 array of rank >= 1, got {array.dtype} {array.shape}")
    header = struct.pack(">HBB", 0, IDX_UBYTE, array.ndim) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    with (
        path.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as stream,
    ):
        stream.write(header)
        stream.write(np.ascontiguousarray(array).tobytes())


def read_images(path: Path) -> np.ndarray:
    """Read an IDX image file: uint8 [N, 28, 28]."""
    images = read_idx(path)
    if images.ndim != 3 or images.shape[1:] != (IMAGE_SIDE, IMAGE_SIDE):
        raise MnistFileError(
            f"{path}: holds an array of shape {list(images.shape)}, expected images"
            f" [N, {IMAGE_SIDE}, {IMAGE_SIDE}] (magic 0x{IMAGES_MAGIC:08x})"
        )
    return images


def read_labels(path: Path) -> np.ndarray:
    """Read an IDX label file: uint8 [N], each a digit 0..9."""
    labels = read_idx(path)
    if labels.ndim != 1:
        raise MnistFileError(
            f"{path}: holds an array of shape {list(labels.shape)}, expected labels [N]"
            f" (magic 0x{LABELS_MAGIC:08x})"
        )
    if labels.size and labels.max() >= NUM_CLASSES:
        raise MnistFileError(f"{path}: label {labels.max()} is not a digit 0..9")
    return labels


# -- loading ---------------------------------------------------------------------------------


def _pair(data_dir: Path, images_name: str, labels_name: str) -> tuple[np.ndarray, np.ndarray]:
    images = read_images(data_dir / images_name)
    labels = read_labels(data_dir / labels_name)
    if len(images) != len(labels):
        raise MnistFileError(
            f"{data_dir / images_name} holds {len(images)} images but"
            f" {data_dir / labels_name} holds {len(labels)} labels; they must match"
        )
    flat = images.reshape(len(images), IMAGE_PIXELS).astype(np.float32) / np.float32(255)
    return flat, labels.astype(np.int64)


def load_mnist(data_dir: Path | str | None = None) -> MnistData:
    """Load train and test sets from *data_dir* (default: the shipped sample, SAMPLE_DIR)."""
    root = Path(data_dir) if data_dir is not None else SAMPLE_DIR
    train_images, train_labels = _pair(root, TRAIN_IMAGES, TRAIN_LABELS)
    test_images, test_labels = _pair(root, TEST_IMAGES, TEST_LABELS)
    return MnistData(train_images, train_labels, test_images, test_labels)


def load_test_digits(data_dir: Path | str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Only the test set (float32 [N, 784] in 0..1, int64 [N]): reads just the t10k files."""
    root = Path(data_dir) if data_dir is not None else SAMPLE_DIR
    return _pair(root, TEST_IMAGES, TEST_LABELS)


# -- download --------------------------------------------------------------------------------


def fetch_mnist(
    data_dir: Path,
    *,
    mirrors: Sequence[str] = MIRRORS,
    checksums: Mapping[str, str] = MNIST_MD5,
    timeout: float = DOWNLOAD_TIMEOUT_SECONDS,
) -> list[Path]:
    """Download the MNIST files missing from *data_dir*; return the paths downloaded.

    Files already in *data_dir* are used as is and never re-downloaded or checksummed: that
    is how air-gapped clusters and the shipped sample (whose files are a subset, with MD5s of
    their own) supply data. Only what is downloaded here is checked against *checksums*.
    """
    if data_dir.exists() and not data_dir.is_dir():
        raise MnistFileError(f"{data_dir}: not a directory; the data dir holds the MNIST files")
    data_dir.mkdir(parents=True, exist_ok=True)
    fetched = []
    for name, md5 in checksums.items():
        target = data_dir / name
        if target.exists():
            continue
        _download_first(name, md5, target, mirrors, timeout)
        fetched.append(target)
    return fetched


def _download_first(
    name: str, md5: str, target: Path, mirrors: Sequence[str], timeout: float
) -> None:
    """Try each mirror in order; keep the first copy whose MD5 matches."""
    failures = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        log.info("downloading %s", url)
        try:
            got = _download(url, target, md5, timeout)
        except (urllib.error.URLError, OSError) as exc:  # HTTPError and timeouts included
            failures.append(f"{url}: {exc}")
            continue
        if got is None:
            return
        failures.append(f"{url}: MD5 mismatch for {name}: expected {md5}, got {got}")
    raise DownloadError(
        f"could not download {name} into {target.parent}:\n  "
        + "\n  ".join(failures)
        + f"\nFix: put the MNIST files into {target.parent} (a --tf-data-dir holding them is"
        " used as is), or allow access to one of the mirrors."
    )


def _download(url: str, target: Path, md5: str, timeout: float) -> str | None:
    """Stream *url* into *target*; return ``None`` on a checksum match, else the MD5 got.

    The bytes go to a temp file beside *target* that is renamed only once its MD5 matches,
    so a bad or half-finished download never sits under the canonical name.
    """
    digest = hashlib.md5(usedforsecurity=False)
    # Not mkstemp: its mode 0600 would stay on the renamed file and lock out other users.
    part = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        with (
            part.open("xb") as out,
            urllib.request.urlopen(url, timeout=timeout) as response,  # noqa: S310 - https mirrors
        ):
            while chunk := response.read(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != md5:
            return digest.hexdigest()
        part.replace(target)
        return None
    finally:
        with contextlib.suppress(FileNotFoundError):
            part.unlink()


def file_md5(path: Path) -> str:
    """The MD5 of a file's bytes, as hex."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
