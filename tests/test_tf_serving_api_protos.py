"""tf_serving_api.protos and its generator: TF Serving's own messages, loadable without TensorFlow."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ci.validate import generated_protos as generator

ROOT = Path(__file__).resolve().parents[1]


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_messages_work_and_speak_tf_servings_wire_format() -> None:
    from tf_serving_api.protos import predict_pb2, prediction_service_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = "mnist"
    request.inputs["x"].float_val.append(0.5)
    again = predict_pb2.PredictRequest.FromString(request.SerializeToString())
    assert again.inputs["x"].float_val == [0.5]
    assert request.DESCRIPTOR.full_name == "tensorflow.serving.PredictRequest"
    service = prediction_service_pb2.DESCRIPTOR.services_by_name["PredictionService"]
    assert service.full_name == "tensorflow.serving.PredictionService"


@pytest.mark.slow
@pytest.mark.parametrize("first", ["ours", "tensorflow's"])
def test_they_load_beside_tensorflows_own_as_the_same_classes(first: str) -> None:
    ours = "from tf_serving_api.protos import predict_pb2 as ours, tensor_pb2 as our_tensor"
    theirs = (
        "from tensorflow_serving.apis import predict_pb2 as theirs\n"
        "from tensorflow.core.framework import tensor_pb2 as their_tensor"
    )
    imports = [ours, theirs] if first == "ours" else [theirs, ours]
    out = run_python(
        "\n".join(imports) + "\nprint(ours.PredictRequest is theirs.PredictRequest,"
        " our_tensor.TensorProto is their_tensor.TensorProto)"
    )
    assert out.split() == ["True", "True"]


@pytest.mark.slow
def test_the_generated_package_is_current() -> None:
    assert generator.problems() == []


@pytest.mark.slow
def test_a_stale_package_is_reported(tmp_path: Path) -> None:
    copy = tmp_path / "_generated"
    shutil.copytree(generator.OUT, copy)
    (copy / "tensorflow_serving" / "apis" / "predict_pb2.py").write_text("# edited\n")
    (copy / "tensorflow_serving" / "apis" / "extra_pb2.py").write_text("")
    (problem,) = generator.problems(copy)
    assert "2 files" in problem
    assert "predict_pb2.py differs" in problem
    assert "--write" in problem


def test_rewrite_moves_imports_and_module_names_only() -> None:
    source = (
        "from google.protobuf import any_pb2 as google_dot_protobuf_dot_any__pb2\n"
        "from tensorflow.core.framework import tensor_pb2 as t\n"
        "from xla.tsl.protobuf.error_codes_pb2 import *\n"
        "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile(b'\\n\\x1ftensorflow.x')\n"
        "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, 'tensorflow.core.x_pb2', _g)\n"
        "            '/tensorflow.serving.PredictionService/Predict',\n"
    )
    rewritten = generator.rewrite(source, {"tensorflow", "xla"}, "pkg")
    assert rewritten.splitlines() == [
        "from google.protobuf import any_pb2 as google_dot_protobuf_dot_any__pb2",
        "from pkg.tensorflow.core.framework import tensor_pb2 as t",
        "from pkg.xla.tsl.protobuf.error_codes_pb2 import *",
        "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile(b'\\n\\x1ftensorflow.x')",
        "_builder.BuildTopDescriptorsAndMessages(DESCRIPTOR, 'pkg.tensorflow.core.x_pb2', _g)",
        "            '/tensorflow.serving.PredictionService/Predict',",
    ]
