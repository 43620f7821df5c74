"""Which REST call a method and path name, by TF Serving's own rules (http_rest_api_util.cc).

- Only ``/v1/…`` is TF Serving's; any other path is not found (404).
- Paths match case-insensitively (``/V1/MODELS/mnist:predict``), as TF Serving's ``(?i)``
  patterns do, while the words caught by them are compared as TF Serving compares them:
  ``:PREDICT`` is a malformed request and ``/METADATA`` asks for the status.
- ``POST /v1/models/<name>[/versions/<n>|/labels/<l>]:{predict,classify,regress}``;
  ``GET /v1/models/<name>[/versions/<n>|/labels/<l>][/metadata]``. Any other method, and
  any other path under ``/v1/``, is a malformed request (400), not 404 or 501.
- A version is digits only (``-1`` is malformed) and must fit int64; the model name and label
  are URL-decoded.

No TensorFlow here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote

import grpc

from serving.status_errors import ServingError, invalid_argument

_VERSIONED: Final = r"(?:/versions/(?P<version>[0-9]+)|/labels/(?P<label>[^/:]+))?"
_POST: Final = re.compile(
    rf"/v1/models/(?P<name>[^/:]+){_VERSIONED}:(?P<verb>classify|regress|predict)", re.IGNORECASE
)
_GET: Final = re.compile(
    rf"/v1/models(?:/(?P<name>[^/:]+))?{_VERSIONED}(?:/(?P<sub>metadata))?", re.IGNORECASE
)
_API: Final = re.compile(r"/v1/", re.IGNORECASE)
INT64_MAX: Final = 2**63 - 1


@dataclass(frozen=True)
class Route:
    """What a REST request asks for: an action on a model, maybe a version or label."""

    action: str  # status, metadata, predict, classify or regress
    name: str
    version: int | None = None
    label: str | None = None


def parse(method: str, target: str) -> Route:
    """The route of *method* on *target* (path and query); ServingError if there is none."""
    path = target.split("?", 1)[0]
    malformed = invalid_argument(f"Malformed request: {method} {path}")
    if not _API.match(path):
        # TF Serving's REST dispatcher owns /v1/ only: elsewhere nothing is there.
        raise ServingError(grpc.StatusCode.NOT_FOUND, malformed.message)
    pattern = {"POST": _POST, "GET": _GET}.get(method)
    match = pattern.fullmatch(path) if pattern is not None else None
    if match is None:
        raise malformed
    version = match["version"]
    # Length first: int() refuses strings past 4,300 digits.
    if version is not None and (len(version.lstrip("0")) > 19 or int(version) > INT64_MAX):
        raise invalid_argument(f"Failed to convert version: {version} to numeric.")
    if method == "POST":
        if match["verb"] not in ("predict", "classify", "regress"):
            raise malformed  # matched case-insensitively, compared exactly, as TF Serving
        action = match["verb"]
    else:
        if not match["name"]:
            raise invalid_argument("Missing model name in request.")
        action = "metadata" if match["sub"] == "metadata" else "status"
    return Route(
        action=action,
        name=unquote(match["name"], errors="replace"),
        version=None if version is None else int(version),
        label=None if match["label"] is None else unquote(match["label"], errors="replace"),
    )
