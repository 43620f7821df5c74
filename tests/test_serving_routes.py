"""serving.routes: REST paths are matched as TF Serving matches them, and no method or path
makes the router fail with anything but a 400 or a 404."""

from __future__ import annotations

import grpc
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from serving.routes import INT64_MAX, Route, parse
from serving.status_errors import ServingError


def refused(method: str, path: str) -> ServingError:
    __tracebackhide__ = True
    with pytest.raises(ServingError) as raised:
        parse(method, path)
    return raised.value


@pytest.mark.parametrize(
    ("method", "path", "route"),
    [
        ("POST", "/v1/models/mnist:predict", Route("predict", "mnist")),
        ("POST", "/v1/models/mnist/versions/5:predict", Route("predict", "mnist", version=5)),
        ("POST", "/v1/models/mnist/labels/stable:predict", Route("predict", "mnist", label="stable")),
        ("POST", "/v1/models/mnist:classify", Route("classify", "mnist")),
        ("GET", "/v1/models/mnist", Route("status", "mnist")),
        ("GET", "/v1/models/mnist/versions/007", Route("status", "mnist", version=7)),
        ("GET", "/v1/models/mnist/metadata", Route("metadata", "mnist")),
        ("GET", "/v1/models/mnist?x=1", Route("status", "mnist")),  # the query is not the path
        ("GET", f"/v1/models/mnist/versions/{INT64_MAX}", Route("status", "mnist", version=INT64_MAX)),
        ("GET", "/v1/models/mn%69st", Route("status", "mnist")),  # URL-decoded, as TF Serving
        # Case-insensitive paths, as TF Serving's (?i) patterns:
        ("POST", "/V1/MODELS/mnist:predict", Route("predict", "mnist")),
        ("GET", "/v1/Models/mnist/Versions/3", Route("status", "mnist", version=3)),
        # ...whose captured words TF Serving then compares exactly: "/METADATA" is a status call.
        ("GET", "/v1/models/mnist/METADATA", Route("status", "mnist")),
    ],
)  # fmt: skip
def test_tf_servings_routes(method: str, path: str, route: Route) -> None:
    assert parse(method, path) == route


@pytest.mark.parametrize(
    ("method", "path", "message"),
    [
        ("GET", "/v1/models/mnist/versions/-1", "Malformed request: GET /v1/models/mnist/versions/-1"),
        ("GET", "/v1/models/mnist/versions/18446744073709551616", "Failed to convert version: 18446744073709551616 to numeric."),
        ("GET", "/v1/models/mnist/versions/" + "9" * 5000, "Failed to convert version: 999"),
        ("POST", "/v1/models/mnist:PREDICT", "Malformed request: POST /v1/models/mnist:PREDICT"),
        ("PUT", "/v1/models/mnist", "Malformed request: PUT /v1/models/mnist"),
        ("DELETE", "/v1/models/mnist", "Malformed request: DELETE /v1/models/mnist"),
        ("GET", "/v1/models/mnist:predict", "Malformed request: GET /v1/models/mnist:predict"),
        ("POST", "/v1/models/mnist", "Malformed request: POST /v1/models/mnist"),
        ("GET", "/v1/models", "Missing model name in request."),
        ("GET", "/v1/models/", "Malformed request: GET /v1/models/"),
    ],
)  # fmt: skip
def test_malformed_requests_are_400_with_tf_servings_text(method, path, message) -> None:
    error = refused(method, path)
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert error.message.startswith(message)


@pytest.mark.parametrize("path", ["/healthz", "/", "/v2/models/mnist", "/models/mnist"])
def test_only_v1_is_tf_servings(path: str) -> None:
    assert refused("GET", path).code == grpc.StatusCode.NOT_FOUND


METHODS = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "get"])
PIECES = st.sampled_from(
    ["/v1", "/V1", "/models", "/mnist", "/versions", "/labels", "/metadata", ":predict",
     ":PREDICT", ":classify", "/", "//", "-1", "5", "9" * 25, "%", "%ff", "%2F", "?", "é", ":"]
)  # fmt: skip


@given(method=METHODS, path=st.lists(PIECES, max_size=8).map("".join))
@example(method="GET", path="/v1/models/mnist/versions/" + "1" * 4400)
def test_any_request_line_is_a_route_or_a_400_or_404(method: str, path: str) -> None:
    try:
        route, error = parse(method, path), None
    except ServingError as refusal:
        route, error = None, refusal
    if error is not None:
        assert error.code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND)
        assert error.http_status in (400, 404)
        return
    assert route.action in ("status", "metadata", "predict", "classify", "regress")
    assert route.version is None or 0 <= route.version <= INT64_MAX
    assert route.version is None or route.label is None


@given(method=METHODS, path=st.text(max_size=80))
def test_any_text_is_a_route_or_a_400_or_404(method: str, path: str) -> None:
    try:
        parse(method, path)
    except ServingError as refusal:
        status = refusal.http_status
    else:
        status = 200
    assert status in (200, 400, 404)


@given(
    name=st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True),
    version=st.none() | st.integers(0, INT64_MAX),
    action=st.sampled_from(["predict", "status", "metadata"]),
)
def test_routes_round_trip(name: str, version: int | None, action: str) -> None:
    path = f"/v1/models/{name}" + ("" if version is None else f"/versions/{version}")
    path += {"predict": ":predict", "status": "", "metadata": "/metadata"}[action]
    method = "POST" if action == "predict" else "GET"
    assert parse(method, path) == Route(action, name, version=version)
