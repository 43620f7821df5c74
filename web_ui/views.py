"""The UI's routes: the page, its JSON twin, the digit PNG, liveness and readiness."""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np
from flask import Blueprint, Response, abort, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from web_ui.digits import digit_set
from web_ui.predict_client import ModelServerError
from web_ui.query import BadQuery, parse_index
from web_ui.servers import model_servers

bp = Blueprint("ui", __name__)

# The page pulls nothing from elsewhere: inline styles, its own PNG, no scripts.
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src 'self'; style-src 'unsafe-inline';"
    " form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@bp.after_app_request
def _secure(response: Response) -> Response:
    response.headers.update(_SECURITY_HEADERS)
    return response


@bp.app_errorhandler(HTTPException)
def _json_for_machines(exc: HTTPException) -> HTTPException | tuple[Response, int]:
    """Errors under ``/api/`` answer JSON, as the endpoint does (a client parsing JSON must
    not get an HTML page); the pages keep Flask's HTML errors."""
    if not request.path.startswith("/api/"):
        return exc
    return jsonify(error=exc.description, status=exc.code), exc.code or 500


@dataclass(frozen=True)
class Shown:
    """One digit and the model server's answer for it."""

    index: int
    truth: int
    prediction: int
    probabilities: list[float]
    model_version: int
    server: str


def _index() -> int:
    """``?index=N`` checked against the test set; a random digit when absent (an empty
    ``?index=`` is a 404 like any bad index: see :func:`web_ui.query.parse_index`)."""
    count = len(digit_set())
    try:
        index = parse_index(request.args.get("index"), count)
    except BadQuery as exc:
        abort(404, str(exc))
    if index is None:
        return random.randrange(count)  # noqa: S311 - picking a digit, not a secret
    return index


def _server() -> str:
    name = request.args.get("server") or model_servers().config.default_server
    if name not in model_servers().names:
        abort(
            400,
            f"server {name!r} is not configured: choose one of {', '.join(model_servers().names)}",
        )
    return name


def _predict(index: int, server: str) -> Shown:
    digits = digit_set()
    answer = model_servers().client(server).predict(digits.images[index : index + 1])
    return Shown(
        index=index,
        truth=int(digits.labels[index]),
        prediction=int(answer.classes[0]),
        probabilities=[float(p) for p in np.asarray(answer.probabilities[0])],
        model_version=answer.model_version,
        server=server,
    )


@bp.get("/")
def page() -> str | tuple[str, int]:
    """The page: digit, truth, prediction, ten probability bars."""
    index, server = _index(), _server()
    try:
        shown = _predict(index, server)
    except ModelServerError as exc:
        return render_template("unavailable.html", server=server, error=exc), 503
    return render_template("index.html", shown=shown, servers=model_servers().names)


@bp.get("/api/predict")
def api_predict() -> Response | tuple[Response, int]:
    """The page's prediction as JSON, for machines."""
    index, server = _index(), _server()
    try:
        shown = _predict(index, server)
    except ModelServerError as exc:
        return jsonify(error=str(exc), server=server), 503
    return jsonify(
        index=shown.index,
        truth=shown.truth,
        prediction=shown.prediction,
        probabilities=shown.probabilities,
        model_version=shown.model_version,
        server=shown.server,
    )


@bp.get("/digit/<int:index>.png")
def digit_png(index: int) -> Response:
    """Test digit *index* as a 28x28 PNG."""
    digits = digit_set()
    if index >= len(digits):
        abort(404, f"index {index} is not a test digit: use 0 to {len(digits) - 1}")
    response = Response(digits.png(index), mimetype="image/png")
    response.cache_control.max_age = 3600
    response.cache_control.public = True
    return response


@bp.get("/healthz")
def healthz() -> tuple[str, int, dict[str, str]]:
    """Liveness: the process answers."""
    return "ok\n", 200, {"Content-Type": "text/plain"}


@bp.get("/readyz")
def readyz() -> tuple[str, int, dict[str, str]]:
    """Readiness: the default model server answers a real prediction."""
    plain = {"Content-Type": "text/plain"}
    try:
        version = _predict(0, model_servers().config.default_server).model_version
    except ModelServerError as exc:
        return f"not ready: {exc}\n", 503, plain
    return f"ready: model version {version}\n", 200, plain


@bp.get("/favicon.ico")
def favicon() -> tuple[str, int]:
    """No icon: 204, so browsers don't log a failed request on every page."""
    return "", 204
