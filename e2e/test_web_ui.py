"""The web UI answers, shows a digit and ten bars, and agrees with the model server."""

import io
import json
import re
import urllib.request

import numpy as np
import pytest
from PIL import Image

INDICES = [0, 7, 123]


def _get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, response.headers.get("Content-Type", ""), response.read()


def test_health(ui_url):
    status, _, body = _get(f"{ui_url}/healthz")
    assert status == 200, body


def test_random_page_shows_a_digit_and_ten_bars(ui_url):
    status, content_type, body = _get(f"{ui_url}/")
    page = body.decode()
    assert status == 200 and content_type.startswith("text/html")
    assert re.search(r'<img[^>]+id="digit"', page), "no digit image on the page"
    assert len(re.findall(r'class="bar[ "]', page)) == 10, "expected ten probability bars"


@pytest.mark.parametrize("index", INDICES)
def test_page_prediction_equals_grpc_prediction(ui_url, index, predict_client, mnist_test_digits):
    status, _, body = _get(f"{ui_url}/?index={index}")
    page = body.decode()
    assert status == 200
    shown = re.search(r'id="prediction"[^>]*>\s*(\d)\s*<', page)
    truth = re.search(r'id="truth"[^>]*>\s*(\d)\s*<', page)
    assert shown and truth, "page has no #prediction / #truth value"
    grpc_answer = predict_client.predict(mnist_test_digits.images[index : index + 1])
    assert int(shown.group(1)) == int(grpc_answer.classes[0])
    assert int(truth.group(1)) == int(mnist_test_digits.labels[index])


@pytest.mark.parametrize("index", INDICES)
def test_json_prediction_equals_grpc_prediction(ui_url, index, predict_client, mnist_test_digits):
    status, content_type, body = _get(f"{ui_url}/api/predict?index={index}")
    answer = json.loads(body)
    assert status == 200 and content_type.startswith("application/json")
    grpc_answer = predict_client.predict(mnist_test_digits.images[index : index + 1])
    assert answer["prediction"] == int(grpc_answer.classes[0])
    assert answer["truth"] == int(mnist_test_digits.labels[index])
    assert answer["model_version"] == grpc_answer.model_version
    assert answer["probabilities"] == pytest.approx(grpc_answer.probabilities[0].tolist(), abs=1e-5)


def test_same_index_is_deterministic(ui_url):
    first = json.loads(_get(f"{ui_url}/api/predict?index=42")[2])
    second = json.loads(_get(f"{ui_url}/api/predict?index=42")[2])
    assert first == second


def test_digit_image_is_a_28_by_28_png(ui_url, mnist_test_digits):
    status, content_type, body = _get(f"{ui_url}/digit/3.png")
    assert status == 200 and content_type == "image/png"
    image = Image.open(io.BytesIO(body))
    assert image.size == (28, 28)
    expected = (mnist_test_digits.images[3].reshape(28, 28) * 255).round()
    assert np.abs(np.asarray(image, dtype=np.float64) - expected).max() <= 1.0
