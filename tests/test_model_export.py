"""model.export: the versioned SavedModel, its serving signature, and how a version appears."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from model.contract import (
    CLASSES_SIGNATURE,
    IMAGE_PIXELS,
    IMAGE_SIDE,
    INPUT_KEY,
    NUM_CLASSES,
    OUTPUT_CLASSES,
    OUTPUT_PREDICTIONS,
    SIGNATURE_NAME,
    SIGNATURES,
)

# Importing TensorFlow takes seconds: the whole module is slow, and imports it in fixtures
# so that collecting the fast tests stays fast.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["linear", "cnn"])
def exported(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(keras model, version dir) for an untrained model of each type exported as version 7.

    Teardown: the temp dir goes with pytest's tmp_path retention.
    """
    from model import export, networks

    model = networks.build(request.param)
    base = tmp_path_factory.mktemp(f"export-{request.param}")
    path = export.export(model, str(base), 7)
    return model, Path(path)


def test_the_version_is_a_numbered_dir_with_a_saved_model(exported) -> None:
    _, version_dir = exported

    assert version_dir.name == "7"
    assert (version_dir / "saved_model.pb").is_file()
    assert (version_dir / "variables" / "variables.index").is_file()
    assert [p.name for p in version_dir.parent.iterdir()] == ["7"], "staging dir left behind"


@pytest.mark.parametrize("key", SIGNATURES)
def test_the_signatures_are_the_contract(exported, key: str) -> None:
    import tensorflow as tf

    _, version_dir = exported
    signature = tf.saved_model.load(str(version_dir)).signatures[key]

    assert signature.structured_input_signature == (
        (),
        {INPUT_KEY: tf.TensorSpec(None, tf.float32, name=INPUT_KEY)},
    )
    assert signature.structured_outputs == {
        OUTPUT_CLASSES: tf.TensorSpec([None], tf.uint8, name=OUTPUT_CLASSES),
        OUTPUT_PREDICTIONS: tf.TensorSpec([None, NUM_CLASSES], tf.float32, name=OUTPUT_PREDICTIONS),
    }


def _saved_model_cli(version_dir: Path, *args: str) -> list[str]:
    cli = Path(sys.executable).with_name("saved_model_cli")
    shown = subprocess.run(
        [str(cli), "show", "--dir", str(version_dir), "--tag_set", "serve", *args],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    return [line.strip() for line in shown.splitlines() if line.strip()]


def test_saved_model_cli_shows_exactly_the_contract(exported) -> None:
    _, version_dir = exported

    assert _saved_model_cli(version_dir) == [
        "The given SavedModel MetaGraphDef contains SignatureDefs with the following keys:",
        'SignatureDef key: "__saved_model_init_op"',
        f'SignatureDef key: "{CLASSES_SIGNATURE}"',
        f'SignatureDef key: "{SIGNATURE_NAME}"',
    ]
    for key in SIGNATURES:
        lines = _saved_model_cli(version_dir, "--signature_def", key)
        # The tensor names (serving_default_x:0, StatefulPartitionedCall_1:0) are TensorFlow's
        # bookkeeping, not the contract: clients address inputs and outputs by key.
        assert [line for line in lines if not line.startswith("name: ")] == [
            "The given SavedModel SignatureDef contains the following input(s):",
            "inputs['x'] tensor_info:",
            "dtype: DT_FLOAT",
            "shape: unknown_rank",
            "The given SavedModel SignatureDef contains the following output(s):",
            "outputs['classes'] tensor_info:",
            "dtype: DT_UINT8",
            "shape: (-1)",
            "outputs['predictions'] tensor_info:",
            "dtype: DT_FLOAT",
            "shape: (-1, 10)",
            "Method name is: tensorflow/serving/predict",
        ], key


def test_predictions_are_the_models_softmax_and_classes_their_argmax(exported) -> None:
    import tensorflow as tf

    model, version_dir = exported
    signatures = tf.saved_model.load(str(version_dir)).signatures
    images = np.random.default_rng(0).random((5, IMAGE_PIXELS), dtype=np.float32)
    expected = tf.nn.softmax(model(images, training=False)).numpy()

    # Flat, as this project's clients and the original web UI send them; 28x28, as the
    # original command-line client does; under both signature names.
    for key in SIGNATURES:
        for sent in (images, images.reshape(5, IMAGE_SIDE, IMAGE_SIDE)):
            out = signatures[key](x=tf.constant(sent))
            predictions = out[OUTPUT_PREDICTIONS].numpy()
            np.testing.assert_allclose(predictions, expected, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(predictions.sum(axis=1), 1.0, rtol=1e-5)
            assert out[OUTPUT_CLASSES].numpy().tolist() == predictions.argmax(axis=1).tolist()


@pytest.mark.parametrize(
    "shape",
    [[2, IMAGE_PIXELS - 1], [2, IMAGE_SIDE, IMAGE_SIDE - 1], [IMAGE_PIXELS], [0, IMAGE_PIXELS],
     [1, IMAGE_SIDE, IMAGE_SIDE, 1], [], [1, 2 * IMAGE_PIXELS]],
)  # fmt: skip
def test_other_shapes_are_refused_by_the_model_itself(exported, shape: list[int]) -> None:
    """The check TF Serving runs too: it is in the graph, not in the embedded server."""
    import tensorflow as tf

    _, version_dir = exported
    serve = tf.saved_model.load(str(version_dir)).signatures[SIGNATURE_NAME]

    with pytest.raises(tf.errors.InvalidArgumentError) as refused:
        serve(x=tf.zeros(shape))

    assert "must hold N >= 1 float32 images shaped [784] or [28, 28]" in refused.value.message
    assert f"[{' '.join(map(str, shape))}]" in refused.value.message


def test_the_export_holds_weights_but_no_optimizer_state(tmp_path: Path) -> None:
    import keras
    import tensorflow as tf

    from model import export, networks

    model = networks.build("linear")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(np.zeros((4, IMAGE_PIXELS)), np.zeros((4, NUM_CLASSES)), verbose=0)

    path = export.export(model, str(tmp_path), 1)

    saved = dict(tf.train.list_variables(f"{path}/variables/variables"))
    assert not [name for name in saved if "optimizer" in name], sorted(saved)
    weights = sorted(shape for name, shape in saved.items() if name.startswith("model/"))
    assert weights == [[10], [784, 10]]


def test_an_existing_version_is_never_overwritten(exported) -> None:
    from model import export
    from model.versions import ExportError

    model, version_dir = exported
    before = (version_dir / "saved_model.pb").read_bytes()

    with pytest.raises(ExportError, match=r"version 7 already exists in .*immutable"):
        export.export(model, str(version_dir.parent), 7)

    assert (version_dir / "saved_model.pb").read_bytes() == before


def test_a_failed_save_leaves_no_partial_version(tmp_path: Path, monkeypatch) -> None:
    from model import export, networks

    def save_half(model, directory: Path) -> None:
        (directory / "variables").mkdir(parents=True)
        raise OSError("disk full")

    monkeypatch.setattr(export, "save", save_half)

    with pytest.raises(OSError, match="disk full"):
        export.export(networks.build("linear"), str(tmp_path / "e"), 3)

    assert list((tmp_path / "e").iterdir()) == []
