"""serving.api: Predict, GetModelMetadata and GetModelStatus answered as TF Serving answers them."""

from __future__ import annotations

import grpc
import numpy as np
import pytest

from model.contract import IMAGE_PIXELS, NUM_CLASSES, SIGNATURE_NAME
from serving.manager import ModelManager
from serving.status_errors import ServingError
from serving.storage import LocalStore

# Loads a SavedModel with TensorFlow (seconds to import): the whole module is slow.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory) -> ModelManager:
    """``mnist`` with version 3 of the fixed model loaded (files removed with pytest's temp)."""
    from tests.support import fixed_model

    base = tmp_path_factory.mktemp("export")
    fixed_model.export(base, 3)
    manager = ModelManager("mnist", LocalStore(str(base)), 1)
    manager.poll_once()
    return manager


def predict_request(images: np.ndarray, **spec: object):
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2

    request = predict_pb2.PredictRequest()
    request.model_spec.name = str(spec.pop("name", "mnist"))
    for key, value in spec.items():
        if key == "version":
            request.model_spec.version.value = int(value)  # type: ignore[call-overload]
        else:
            setattr(request.model_spec, key, value)
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(images))
    return request


def error_of(call) -> ServingError:
    __tracebackhide__ = True
    with pytest.raises(ServingError) as raised:
        call()
    return raised.value


def test_predict_answers_classes_probabilities_and_the_version(manager: ModelManager) -> None:
    import tensorflow as tf

    from serving import api
    from tests.support.fixed_model import image_of_class

    images = np.stack([image_of_class(d) for d in range(NUM_CLASSES)])
    response = api.predict(manager, predict_request(images))
    assert response.model_spec.name == "mnist"
    assert response.model_spec.version.value == 3
    assert response.model_spec.signature_name == SIGNATURE_NAME
    assert list(response.outputs["classes"].int64_val) == list(range(NUM_CLASSES))
    probabilities = tf.make_ndarray(response.outputs["predictions"])
    assert probabilities.shape == (NUM_CLASSES, NUM_CLASSES)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_output_filter_and_pinned_version(manager: ModelManager) -> None:
    from serving import api

    request = predict_request(np.zeros((1, IMAGE_PIXELS), np.float32), version=3)
    request.output_filter.append("classes")
    response = api.predict(manager, request)
    assert list(response.outputs) == ["classes"]
    assert response.model_spec.version.value == 3


@pytest.mark.parametrize(
    ("spec", "code", "message"),
    [
        ({"name": "fashion"}, grpc.StatusCode.NOT_FOUND, "Servable not found for request: Latest(fashion)"),
        ({"version": 4}, grpc.StatusCode.NOT_FOUND, "Servable not found for request: Specific(mnist, 4)"),
        ({"version_label": "canary"}, grpc.StatusCode.INVALID_ARGUMENT, "Unrecognized servable version label: canary"),
        ({"signature_name": "classify"}, grpc.StatusCode.FAILED_PRECONDITION, 'Serving signature key "classify" not found.'),
    ],
)  # fmt: skip
def test_predict_errors(manager: ModelManager, spec: dict, code, message: str) -> None:
    from serving import api

    request = predict_request(np.zeros((1, IMAGE_PIXELS), np.float32), **spec)
    error = error_of(lambda: api.predict(manager, request))
    assert error.code == code
    assert error.message.startswith(message)


def test_unknown_or_duplicate_output_filter_is_invalid(manager: ModelManager) -> None:
    from serving import api

    request = predict_request(np.zeros((1, IMAGE_PIXELS), np.float32))
    request.output_filter.append("logits")
    error = error_of(lambda: api.predict(manager, request))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert "output tensor alias not found in signature: logits" in error.message
    request.output_filter[:] = ["classes", "classes"]
    assert (
        "duplicate output tensor alias" in error_of(lambda: api.predict(manager, request)).message
    )


def test_a_request_without_model_spec_is_invalid(manager: ModelManager) -> None:
    from tensorflow_serving.apis import predict_pb2

    from serving import api

    error = error_of(lambda: api.predict(manager, predict_pb2.PredictRequest()))
    assert (error.code, error.message) == (grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")


def test_metadata_packs_the_signature_def_map(manager: ModelManager) -> None:
    from tensorflow_serving.apis import get_model_metadata_pb2

    from serving import api

    request = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    request.model_spec.name = "mnist"
    response = api.model_metadata(manager, request)
    assert (response.model_spec.name, response.model_spec.version.value) == ("mnist", 3)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    assert response.metadata["signature_def"].Unpack(signature_map)
    serving_default = signature_map.signature_def[SIGNATURE_NAME]
    assert set(serving_default.inputs) == {"x"}
    assert set(serving_default.outputs) == {"classes", "predictions"}

    request.metadata_field[:] = ["graph"]
    error = error_of(lambda: api.model_metadata(manager, request))
    assert (error.code, error.message) == (
        grpc.StatusCode.INVALID_ARGUMENT,
        "Metadata field graph is not supported",
    )
    request.ClearField("metadata_field")
    assert (
        "at least one metadata_field"
        in error_of(lambda: api.model_metadata(manager, request)).message
    )


def test_model_status_lists_the_available_version(manager: ModelManager) -> None:
    from tensorflow_serving.apis import get_model_status_pb2

    from serving import api

    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "mnist"
    (status,) = api.model_status(manager, request).model_version_status
    assert status.version == 3
    assert status.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
    assert status.status.error_code == 0
