"""gRPC predictions on real MNIST test digits, and the server's handling of bad requests."""

import grpc
import numpy as np
import pytest

from fixtures import prediction_log
from fixtures.assertions import assert_accuracy, assert_probability_rows
from model.contract import IMAGE_PIXELS, IMAGE_SIDE, INPUT_KEY, MODEL_NAME
from tf_serving_api.protos import predict_pb2
from tf_serving_api.tensor_util import make_tensor_proto


@pytest.fixture(scope="module")
def predictions(predict_client, mnist_test_digits, run_artifacts):
    """The model server's answer for every test digit, in one batched call; also kept in
    ``predictions.json`` for the report and the run history."""
    answer = predict_client.predict(mnist_test_digits.images)
    prediction_log.write(
        run_artifacts, mnist_test_digits.labels, answer.classes, answer.probabilities
    )
    return answer


def _request(array, model_name=MODEL_NAME, key=INPUT_KEY):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = "serving_default"
    request.inputs[key].CopyFrom(make_tensor_proto(array))
    return request


def test_accuracy_on_test_digits(predictions, mnist_test_digits, harness_config, run_artifacts):
    assert len(mnist_test_digits) >= 500
    accuracy = assert_accuracy(
        predictions.classes,
        mnist_test_digits.labels,
        harness_config.min_accuracy,
        where=f"{run_artifacts}/logs/train.log",
    )
    print(f"gRPC accuracy over {len(mnist_test_digits)} test digits: {accuracy:.4f}")


def test_every_probability_row_sums_to_one(predictions, run_artifacts):
    assert_probability_rows(predictions.probabilities, where=str(run_artifacts))


def test_classes_are_the_argmax_of_probabilities(predictions):
    np.testing.assert_array_equal(predictions.classes, predictions.probabilities.argmax(axis=1))


def test_response_names_the_exported_version(predictions, exported_model):
    assert predictions.model_version == int(exported_model.name)


@pytest.mark.parametrize(
    ("what", "array"),
    [
        ("wrong width", np.zeros((2, IMAGE_PIXELS - 1), dtype=np.float32)),
        ("wrong image side", np.zeros((2, IMAGE_SIDE, IMAGE_SIDE - 1), dtype=np.float32)),
        ("wrong rank", np.zeros((2, IMAGE_SIDE, IMAGE_SIDE, 1), dtype=np.float32)),
        ("wrong dtype", np.zeros((2, IMAGE_PIXELS), dtype=np.int32)),
        ("strings", np.array([["not a digit"] * IMAGE_PIXELS])),
    ],
)
def test_bad_input_is_rejected_and_the_server_keeps_serving(stub, predict_client, what, array):
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(_request(array), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (
        f"{what}: expected INVALID_ARGUMENT, got {caught.value.code()}: {caught.value.details()}"
    )
    still = predict_client.predict(np.zeros((1, IMAGE_PIXELS), dtype=np.float32))
    assert still.classes.shape == (1,)


def test_unknown_input_key_is_rejected(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(_request(np.zeros((1, IMAGE_PIXELS), np.float32), key="images"), timeout=30)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_unknown_model_is_not_found(stub):
    with pytest.raises(grpc.RpcError) as caught:
        stub.Predict(
            _request(np.zeros((1, IMAGE_PIXELS), np.float32), model_name="nope"), timeout=30
        )
    assert caught.value.code() == grpc.StatusCode.NOT_FOUND
