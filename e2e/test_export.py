"""The export: a versioned SavedModel in the run's storage with the contracted signatures."""

from pathlib import Path

import pytest

from model.contract import (
    INPUT_KEY,
    NUM_CLASSES,
    OUTPUT_CLASSES,
    OUTPUT_PREDICTIONS,
    SIGNATURES,
)
from tf_serving_api.protos import saved_model_pb2, types_pb2


def _signature(version_dir: Path, key: str):
    saved_model = saved_model_pb2.SavedModel()
    saved_model.ParseFromString((version_dir / "saved_model.pb").read_bytes())
    signatures = saved_model.meta_graphs[0].signature_def
    assert key in signatures, f"signatures in {version_dir}: {list(signatures)}"
    return signatures[key]


def _shape(tensor_info) -> list[int]:
    return [dim.size for dim in tensor_info.tensor_shape.dim]


def test_export_is_a_versioned_saved_model(exported_model: Path) -> None:
    assert exported_model.name.isdigit() and int(exported_model.name) > 0
    assert (exported_model / "saved_model.pb").is_file()
    assert (exported_model / "variables").is_dir()


@pytest.mark.parametrize("key", SIGNATURES)
def test_signature_matches_the_contract(exported_model: Path, key: str) -> None:
    signature = _signature(exported_model, key)
    assert set(signature.inputs) == {INPUT_KEY}
    assert signature.inputs[INPUT_KEY].dtype == types_pb2.DT_FLOAT
    # No declared shape: the model itself takes [N, 784] and [N, 28, 28] and refuses the rest.
    assert signature.inputs[INPUT_KEY].tensor_shape.unknown_rank
    assert set(signature.outputs) == {OUTPUT_CLASSES, OUTPUT_PREDICTIONS}
    assert signature.outputs[OUTPUT_CLASSES].dtype == types_pb2.DT_UINT8
    assert _shape(signature.outputs[OUTPUT_CLASSES]) == [-1]
    assert signature.outputs[OUTPUT_PREDICTIONS].dtype == types_pb2.DT_FLOAT
    assert _shape(signature.outputs[OUTPUT_PREDICTIONS]) == [-1, NUM_CLASSES]
