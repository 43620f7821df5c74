"""serving.servable: a SavedModel version loaded, described by its SignatureDefs, run safely."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import numpy as np
import pytest

from model.contract import IMAGE_PIXELS, NUM_CLASSES, SIGNATURE_NAME
from serving.status_errors import ServingError

# Importing TensorFlow takes seconds: the whole module is slow.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Version 1 of the fixed-weight model, exported (removed with pytest's temp dirs)."""
    from tests.support import fixed_model

    return Path(fixed_model.export(tmp_path_factory.mktemp("models"), 1))


@pytest.fixture(scope="module")
def servable(model_dir: Path):
    """The fixed model loaded as version 1 of ``mnist``."""
    from serving.servable import Servable

    return Servable.load("mnist", 1, model_dir)


def test_signature_defs_come_from_saved_model_pb(servable) -> None:
    from tensorflow.core.framework import types_pb2

    signature = servable.signature_defs[SIGNATURE_NAME]
    x = signature.inputs["x"]
    assert x.dtype == types_pb2.DT_FLOAT
    assert [d.size for d in x.tensor_shape.dim] == [-1, IMAGE_PIXELS]
    assert signature.outputs["classes"].dtype == types_pb2.DT_INT64
    assert [d.size for d in signature.outputs["predictions"].tensor_shape.dim] == [-1, NUM_CLASSES]
    assert signature.method_name == "tensorflow/serving/predict"
    assert servable.version == 1
    assert servable.load_seconds > 0


def test_run_answers_classes_and_probabilities(servable) -> None:
    from tests.support.fixed_model import image_of_class

    images = np.stack([image_of_class(digit) for digit in range(NUM_CLASSES)])
    outputs = servable.run(SIGNATURE_NAME, {"x": images})
    assert outputs["classes"].dtype == np.int64
    assert outputs["classes"].tolist() == list(range(NUM_CLASSES))
    assert outputs["predictions"].dtype == np.float32
    assert outputs["predictions"].shape == (NUM_CLASSES, NUM_CLASSES)
    np.testing.assert_allclose(outputs["predictions"].sum(axis=1), 1.0, rtol=1e-5)


def test_run_returns_only_the_outputs_asked_for(servable) -> None:
    outputs = servable.run(
        SIGNATURE_NAME, {"x": np.zeros((2, IMAGE_PIXELS), np.float32)}, ["classes"]
    )
    assert list(outputs) == ["classes"]


def test_concurrent_runs_each_get_their_own_answer(servable) -> None:
    from tests.support.fixed_model import image_of_class

    failures: list[str] = []

    def worker(digit: int) -> None:
        batch = np.stack([image_of_class(digit)] * (digit + 1))
        for _ in range(20):
            classes = servable.run(SIGNATURE_NAME, {"x": batch})["classes"]
            if classes.tolist() != [digit] * (digit + 1):
                failures.append(f"digit {digit} got {classes.tolist()}")

    threads = [threading.Thread(target=worker, args=(d,)) for d in range(NUM_CLASSES)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_a_version_with_a_broken_graph_fails_to_load(tmp_path: Path) -> None:
    from serving.servable import Servable

    (tmp_path / "saved_model.pb").write_bytes(b"not a protobuf at all")
    with pytest.raises(ServingError) as raised:
        Servable.load("mnist", 7, tmp_path)
    # TensorFlow's ReadSavedModel's own code and text, as TF Serving reports the load.
    assert raised.value.code == grpc.StatusCode.DATA_LOSS
    assert raised.value.message == f"Can't parse {tmp_path / 'saved_model.pb'} as binary proto"


def test_a_directory_without_a_saved_model_fails_to_load_saying_so(tmp_path: Path) -> None:
    from serving.servable import Servable

    (tmp_path / "notes.txt").write_text("not a SavedModel")
    with pytest.raises(ServingError) as raised:
        Servable.load("mnist", 7, tmp_path)
    assert raised.value.code == grpc.StatusCode.NOT_FOUND
    assert raised.value.message == (
        f"Could not find SavedModel .pb or .pbtxt at supplied export directory path: {tmp_path}"
    )
