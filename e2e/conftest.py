"""The e2e suite: written once, run against whichever --platform the session uses."""

from collections.abc import Iterator

import grpc
import pytest

from tf_serving_api.protos import prediction_service_pb2_grpc


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Every e2e test needs the provisioned run; requesting it from each keeps the story of
    # a test readable while the expensive part happens once per session.
    for item in items:
        if "mnist_run" not in getattr(item, "fixturenames", ()):
            item.fixturenames.append("mnist_run")  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def stub(model_endpoint: str) -> Iterator[prediction_service_pb2_grpc.PredictionServiceStub]:
    """A raw PredictionService stub, for requests this project's client would never build.

    Teardown closes its channel.
    """
    with grpc.insecure_channel(model_endpoint) as channel:
        yield prediction_service_pb2_grpc.PredictionServiceStub(channel)
