"""The Kubeflow example's own two clients, request and read, against the model served here.

Each sends one digit a request, as they did (e2e/original_clients.py), and must get the
digit and ten scores this project's client gets for the same image.
"""

import numpy as np
import pytest

from e2e.original_clients import command_line_client, read_like_the_web_ui, web_ui_client
from model.contract import CLASSES_SIGNATURE, MODEL_NAME, NUM_CLASSES, SIGNATURE_NAME

DIGITS = 20  # one request each, as the original clients send them


@pytest.fixture(scope="module")
def batch_answer(predict_client, mnist_test_digits):
    """This project's client's answer for the first test digits, in one batched call."""
    return predict_client.predict(mnist_test_digits.images[:DIGITS])


def assert_same_answer(read, index: int, batch_answer, who: str) -> None:
    """*read* (a digit and ten scores) is what this project's client got for digit *index*."""
    __tracebackhide__ = True
    assert len(read.scores) == NUM_CLASSES, f"{who}: {len(read.scores)} scores, not ten"
    assert read.digit == batch_answer.classes[index], (
        f"{who}: digit {index} read as {read.digit}, this project's client got"
        f" {batch_answer.classes[index]}"
    )
    np.testing.assert_allclose(
        read.scores, batch_answer.probabilities[index], atol=1e-4, err_msg=f"{who}, digit {index}"
    )


@pytest.mark.parametrize("signature", [SIGNATURE_NAME, CLASSES_SIGNATURE])
def test_command_line_client_gets_a_digit_and_ten_scores(
    stub, mnist_test_digits, batch_answer, signature
):
    for index in range(DIGITS):
        response = command_line_client(stub, MODEL_NAME, mnist_test_digits.images[index], signature)
        classes = response.outputs["classes"]
        assert [d.size for d in classes.tensor_shape.dim] == [1]
        predictions = response.outputs["predictions"]
        assert [d.size for d in predictions.tensor_shape.dim] == [1, NUM_CLASSES]
        who = f"mnist_client.py ([1, 28, 28] to {signature})"
        assert_same_answer(read_like_the_web_ui(response), index, batch_answer, who)


@pytest.mark.parametrize("signature", [SIGNATURE_NAME, CLASSES_SIGNATURE])
def test_web_ui_client_reads_int_val_and_float_val(
    stub, mnist_test_digits, batch_answer, signature
):
    for index in range(DIGITS):
        read = web_ui_client(stub, MODEL_NAME, mnist_test_digits.images[index], signature)
        who = f"web-ui/mnist_client.py ([1, 784] to {signature})"
        assert_same_answer(read, index, batch_answer, who)
