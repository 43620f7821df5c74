"""Call until it answers: the one probe of a model server and of a web page, used by all.

For TF Serving, a gRPC ``Predict`` of one all-zero image through the TF Serving protos, whose
answer must have the contracted outputs (and, when asked, come from a given model version);
for a web page, ``GET`` answering 200. Both wait (kubekit's ``wait_until``) only while the
answer means "not up yet", and fail at once on anything else. While Predict says "not up
yet", the model server's ``GetModelStatus`` is asked too: a version it gave up loading (END
with an error status, as TF Serving reports a failed load) ends the wait at once with the
server's own reason. The deploy steps inside the cluster, the harness's platforms (local
processes, port-forwards) and the benchmarks all wait for an endpoint through these two
functions.
"""

from __future__ import annotations

import math
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Final, NamedTuple

import grpc

from kubekit.exceptions import NotReady
from kubekit.transient import transient_reason
from kubekit.wait import wait_until
from model.contract import (
    IMAGE_PIXELS,
    INPUT_KEY,
    MODEL_NAME,
    NUM_CLASSES,
    OUTPUT_CLASSES,
    OUTPUT_PREDICTIONS,
    SIGNATURE_NAME,
)
from pipeline.deploy.errors import DeployError, ModelLoadFailed
from tf_serving_api.protos import (
    get_model_status_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2_grpc,
    tensor_pb2,
    types_pb2,
)
from tf_serving_api.tensor_util import make_ndarray

# A gRPC error means "not serving yet" when kubekit's one table of transient errors says so
# (UNAVAILABLE, DEADLINE_EXCEEDED), or when it is the one below. NOT_FOUND cannot join that
# table: for any other call (a KFP run, an object) it is final; only while a model server is
# still loading its first version does it mean "try again".
MODEL_NOT_LOADED: Final = {grpc.StatusCode.NOT_FOUND: "the model is not loaded yet"}
# A StatusProto's error_code is the canonical status number gRPC uses: its name, for messages.
CODE_NAMES: Final = {code.value[0]: code.name for code in grpc.StatusCode}
# The longest pause between two attempts (kubekit backs off from 50 ms up to it).
RETRY_SECONDS: Final = 2.0


def _no_fatal() -> str | None:
    return None


def not_serving_yet(exc: grpc.RpcError) -> str | None:
    """Why *exc* means the server is not serving yet, or None when it is a real failure."""
    return transient_reason(exc) or MODEL_NOT_LOADED.get(exc.code())


def predict_request(model_name: str = MODEL_NAME) -> predict_pb2.PredictRequest:
    """A PredictRequest for one all-zero 28x28 image, as the contract shapes it."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = SIGNATURE_NAME
    request.inputs[INPUT_KEY].CopyFrom(
        tensor_pb2.TensorProto(
            dtype=types_pb2.DT_FLOAT,
            tensor_shape={"dim": [{"size": 1}, {"size": IMAGE_PIXELS}]},
            float_val=[0.0] * IMAGE_PIXELS,
        )
    )
    return request


def check_response(response: predict_pb2.PredictResponse) -> int:
    """The model version of a valid answer to :func:`predict_request`; DeployError otherwise."""
    outputs = response.outputs
    missing = {OUTPUT_CLASSES, OUTPUT_PREDICTIONS} - set(outputs)
    if missing:
        raise DeployError(
            f"the model answered without {', '.join(sorted(missing))} (outputs:"
            f" {', '.join(sorted(outputs)) or 'none'}); the export does not have the contracted"
            f" {SIGNATURE_NAME} signature"
        )
    probabilities = list(outputs[OUTPUT_PREDICTIONS].float_val)
    try:
        # Whichever field the classes' dtype uses (int_val for the contract's uint8).
        classes = make_ndarray(outputs[OUTPUT_CLASSES]).ravel().tolist()
    except (TypeError, ValueError) as exc:
        raise DeployError(f"the model's classes cannot be read: {exc}") from exc
    if len(probabilities) != NUM_CLASSES or len(classes) != 1:
        raise DeployError(
            f"the model answered {len(classes)} classes and {len(probabilities)} probabilities"
            f" for one image; expected 1 and {NUM_CLASSES}"
        )
    if not math.isclose(sum(probabilities), 1.0, abs_tol=1e-3):
        raise DeployError(f"the model's probabilities sum to {sum(probabilities):.4f}, not 1")
    return int(response.model_spec.version.value)


def predict_once(target: str, timeout: float, model_name: str = MODEL_NAME) -> int:
    """One real Predict call to *target* (host:port); the model version that answered."""
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        response = stub.Predict(predict_request(model_name), timeout=timeout)
    return check_response(response)


def failed_load(response: get_model_status_pb2.GetModelStatusResponse) -> str | None:
    """The reason of the newest version the server gave up loading, or None.

    TF Serving keeps a version it still retries LOADING with an OK status and publishes the
    load's error only with END, so END plus an error code means "failed for good"; END
    without one is an ordinary unload.
    """
    ended = get_model_status_pb2.ModelVersionStatus.END
    failed = [s for s in response.model_version_status if s.state == ended and s.status.error_code]
    if not failed:
        return None
    newest = max(failed, key=lambda s: s.version)
    code = CODE_NAMES.get(newest.status.error_code, str(newest.status.error_code))
    return f"version {newest.version}: {code}: {newest.status.error_message}"


def load_failure(
    target: str, timeout: float, model_name: str = MODEL_NAME, version: int | None = None
) -> str | None:
    """Ask GetModelStatus on *target* why *version* (any version, when None) failed to load.

    None when nothing failed for good, and also when the call itself fails: a server not up
    yet, one that has seen no version yet (NOT_FOUND), or one without ModelService leaves
    Predict's answer to decide.
    """
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = model_name
    if version is not None:
        request.model_spec.version.value = version
    try:
        with grpc.insecure_channel(target) as channel:
            stub = model_service_pb2_grpc.ModelServiceStub(channel)
            response = stub.GetModelStatus(request, timeout=timeout)
    except grpc.RpcError:
        return None
    return failed_load(response)


def _not_yet(
    target: str, why: str, timeout: float, model_name: str, version: int | None
) -> NotReady:
    """NotReady(*why*), unless the server gave up loading the model: then ModelLoadFailed."""
    failure = load_failure(target, timeout, model_name, version)
    if failure is not None:
        raise ModelLoadFailed(
            f"the model server at {target} could not load model {model_name} {failure}; check"
            " that its model base path holds SavedModel versions (<version>/saved_model.pb)"
        )
    return NotReady(why)


def wait_for_prediction(
    target: str,
    *,
    timeout: float,
    model_name: str = MODEL_NAME,
    version: int | None = None,
    fatal: Callable[[], str | None] = _no_fatal,
    max_interval: float = RETRY_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Ask :func:`predict_once` until the server answers (from *version*, when given); the
    model version that answered.

    "Not up yet" (:func:`not_serving_yet`), and an answer from another version than
    *version*, are waited out up to *timeout* seconds (kubekit's ``WaitTimeout``, naming the
    last reason); any other code is a DeployError at once, and so is a version the server
    gave up loading (:class:`ModelLoadFailed`, :func:`load_failure`). A reason from *fatal*
    (a crashed server process), asked before every attempt, ends the wait at once
    (``WaitFailed``).
    """
    deadline = clock() + timeout
    description = f"predict on {target}" + (f" from version {version}" if version else "")

    def answered() -> int:
        call_timeout = min(10.0, max(1.0, deadline - clock()))
        try:
            served = predict_once(target, timeout=call_timeout, model_name=model_name)
        except grpc.RpcError as exc:
            code = exc.code()
            reason = not_serving_yet(exc)
            if reason is None:
                raise DeployError(f"'{description}' failed: {code.name}: {exc.details()}") from exc
            why = f"{code.name}: {exc.details()} ({reason})"
            raise _not_yet(target, why, call_timeout, model_name, version) from exc
        if version is not None and served != version:
            why = f"serving version {served}, waiting for {version}"
            raise _not_yet(target, why, call_timeout, model_name, version)
        return served

    return wait_until(
        description,
        answered,
        timeout=timeout,
        fatal=fatal,
        max_interval=max_interval,
        clock=clock,
        sleep=sleep,
    )


class HttpAnswer(NamedTuple):
    """A status and who gave it: the Server header names a server that is not ours."""

    status: int
    server: str


def get_status(url: str, timeout: float) -> HttpAnswer:
    """The HTTP status of ``GET url`` (error statuses included, not raised) and its Server."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 -- checked above
            return HttpAnswer(int(response.status), response.headers.get("Server", ""))
    except urllib.error.HTTPError as exc:
        return HttpAnswer(int(exc.code), exc.headers.get("Server", "") if exc.headers else "")


def wait_for_http(
    url: str,
    *,
    timeout: float,
    fatal: Callable[[], str | None] = _no_fatal,
    max_interval: float = RETRY_SECONDS,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Return once ``GET url`` answers 200. Refusals, timeouts and 5xx mean "not up yet" and
    are waited out, up to *timeout* seconds (``WaitTimeout``); another status is a DeployError.
    A reason from *fatal* (a crashed server process) ends the wait at once (``WaitFailed``)."""
    deadline = clock() + timeout

    def ready() -> None:
        try:
            status, server = get_status(url, timeout=min(10.0, max(1.0, deadline - clock())))
        except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
            raise NotReady(f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}") from exc
        if status >= 500:
            raise NotReady(f"HTTP {status}")
        if status != 200:
            raise DeployError(
                f"'GET {url}' answered {status} (Server: {server or 'not named'}); expected 200"
            )

    wait_until(
        f"GET {url}",
        ready,
        timeout=timeout,
        fatal=fatal,
        max_interval=max_interval,
        clock=clock,
        sleep=sleep,
    )
