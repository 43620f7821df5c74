"""A stand-in for the Kubeflow Pipelines v2beta1 REST API, served on loopback.

Why it still exists: the real Kubeflow Pipelines 2.17.0 runs on the cluster tier (built by
`tox -e airgap`, installed into the tier's kind cluster; cluster_tests/ submit, wait on,
diagnose and janitor real runs). What a real KFP cannot be made to show stays here, in unit
tests (tests/) only: a 5xx or 403 answered once, an answer lost after the server did the
work, the exact request the harness sent (parameters, an external endpoint's bearer token),
and no-cluster speed. Everything it answers is a STAND-IN answer, not KFP's: a test that
passes against it shows the harness speaks the v2beta1 wire format and reacts to the states
it is shown, not that KFP behaves so.

What it serves (the endpoints :class:`fixtures.kfp.kfp_api.KfpApi` calls):

- ``GET /apis/v2beta1/healthz``
- experiments: create, get, delete, list (pages; ``display_name`` EQUALS filter)
- runs: create, get, ``:terminate``, delete, list (by ``experiment_id``, pages, filter)

What the test scripts: experiments and runs put in directly (:meth:`KfpStandIn.add_run`,
with a creation time, so the janitor's age rule can be exercised), a run's sequence of
states (each ``get`` of the run moves to the next, the last one repeats; see
:func:`run_state` and :func:`task` for the ``task_details`` KFP reports, pod names
included), and one-off faults (:meth:`KfpStandIn.fail_once`: a 5xx or 403 answered once,
optionally after the request took effect, as when a gateway times out on a request the
server completed). Every request is recorded, Authorization header included.

What it does NOT do: compile, validate or execute a pipeline (no Argo workflow, no pods:
the pods a test wants are created in the real tier cluster by the test); authenticate
(any token is accepted and recorded); archive, retry, recurring runs, pipelines and
pipeline versions; filters other than ``display_name`` EQUALS (it answers 400 rather than
pretend); multi-user namespaces. Run states change only when a test's script says so.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from tests.support.loopback_http import Answer, Request, serve

BASE: Final = "/apis/v2beta1"
FINAL: Final = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "SKIPPED"})


def task(
    display_name: str,
    state: str,
    *,
    pod_name: str | None = None,
    end_time: datetime | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    """One ``run_details.task_details`` entry, as KFP 2.x reports a task."""
    found: dict[str, Any] = {"display_name": display_name, "state": state}
    if pod_name:
        found["pod_name"] = pod_name
    if end_time:
        found["end_time"] = end_time.isoformat()
    if error:
        found["error"] = {"code": 2, "message": error}
    return found


def run_state(state: str, *tasks: Mapping[str, Any], error: str | None = None) -> dict[str, Any]:
    """What one ``get`` of a scripted run shows: its state and its tasks."""
    shown: dict[str, Any] = {"state": state, "run_details": {"task_details": list(tasks)}}
    if error:
        shown["error"] = {"code": 2, "message": error}
    return shown


@dataclass(frozen=True)
class Recorded:
    """One request the stand-in received."""

    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    authorization: str | None


@dataclass
class _Fault:
    method: str
    path: str
    status: int
    after: bool  # answer the error only after the request took effect


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _error(status: int, message: str) -> Answer:
    # google.rpc.Status, as KFP's grpc-gateway answers errors.
    return status, {"code": status, "message": message, "details": []}


class KfpStandIn:
    """The stand-in's state and its answers; serve it with :func:`serving`."""

    def __init__(self) -> None:
        self.experiments: dict[str, dict[str, Any]] = {}
        self.runs: dict[str, dict[str, Any]] = {}
        self.requests: list[Recorded] = []
        self._scripts: dict[str, list[dict[str, Any]]] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()  # the server answers each request on its own thread

    # -- what a test scripts ------------------------------------------------------------------

    def add_experiment(
        self, display_name: str, *, description: str = "", created_at: datetime | None = None
    ) -> str:
        """An experiment that exists before the harness looks; its id."""
        with self._lock:
            return self._new_experiment(display_name, description, created_at)["experiment_id"]

    def add_run(
        self,
        display_name: str,
        *states: Mapping[str, Any],
        experiment_id: str | None = None,
        description: str = "",
        created_at: datetime | None = None,
    ) -> str:
        """A run that exists before the harness looks, shown in *states* (see :meth:`script`)."""
        with self._lock:
            run = self._new_run(
                {
                    "display_name": display_name,
                    "description": description,
                    "experiment_id": experiment_id,
                },
                created_at,
            )
        self.script(run["run_id"], *states)
        return run["run_id"]

    def script(self, run_id: str, *states: Mapping[str, Any]) -> None:
        """The states the run shows, one per ``get``; the last one repeats."""
        with self._lock:
            self._scripts[run_id] = [dict(s) for s in states]

    def fail_once(self, method: str, path: str, status: int, *, after: bool = False) -> None:
        """Answer the next ``METHOD path`` with *status*; with *after*, do the request first
        (the server completed it, the answer was lost: the case a retry must not repeat)."""
        with self._lock:
            self._faults.append(_Fault(method, path, status, after))

    def calls(self, method: str, path: str) -> list[Recorded]:
        """The recorded requests to ``METHOD path``."""
        return [r for r in self.requests if r.method == method and r.path == path]

    # -- serving -------------------------------------------------------------------------------

    def answer(self, request: Request) -> Answer:
        body = json.loads(request.body) if request.body else None
        with self._lock:
            self.requests.append(
                Recorded(
                    request.method,
                    request.path,
                    request.query,
                    body,
                    request.headers.get("authorization"),
                )
            )
            fault = next(
                (f for f in self._faults if f.method == request.method and f.path == request.path),
                None,
            )
            if fault is not None:
                self._faults.remove(fault)
                if not fault.after:
                    return _error(fault.status, f"stand-in: injected {fault.status}")
            answered = self._route(request.method, request.path, request.query, body)
            if fault is not None:
                return _error(fault.status, f"stand-in: injected {fault.status} after the work")
            return answered

    def _route(self, method: str, path: str, query: dict[str, list[str]], body: Any) -> Answer:
        if not path.startswith(BASE + "/"):
            return _error(404, f"stand-in: no route {path}")
        parts = path[len(BASE) + 1 :].split("/")
        collection, name = parts[0], "/".join(parts[1:])
        if collection == "healthz" and not name and method == "GET":
            return 200, {"commit_sha": "stand-in", "tag_name": "stand-in", "multi_user": False}
        if collection == "experiments":
            return self._experiments(method, name, query, body)
        if collection == "runs":
            return self._runs(method, name, query, body)
        return _error(404, f"stand-in: no route {method} {path}")

    def _experiments(
        self, method: str, name: str, query: dict[str, list[str]], body: Any
    ) -> Answer:
        if not name:
            if method == "POST":
                return 200, self._new_experiment(
                    body.get("display_name", ""), body.get("description", ""), None
                )
            if method == "GET":
                return self._page("experiments", list(self.experiments.values()), query)
        elif name in self.experiments:
            if method == "GET":
                return 200, self.experiments[name]
            if method == "DELETE":
                del self.experiments[name]
                return 200, {}
        else:
            return _error(404, f"experiment {name} not found")
        return _error(405, f"stand-in: {method} experiments/{name} is not served")

    def _runs(self, method: str, name: str, query: dict[str, list[str]], body: Any) -> Answer:
        run_id, _, verb = name.partition(":")
        if not run_id:
            if method == "POST":
                return 200, self._new_run(body or {}, None)
            if method == "GET":
                runs = list(self.runs.values())
                wanted = query.get("experiment_id", [None])[0]
                if wanted:
                    runs = [r for r in runs if r.get("experiment_id") == wanted]
                return self._page("runs", runs, query)
        elif run_id not in self.runs:
            return _error(404, f"run {run_id} not found")
        elif method == "GET" and not verb:
            return 200, self._advance(run_id)
        elif method == "POST" and verb == "terminate":
            self._scripts.pop(run_id, None)
            if self.runs[run_id]["state"] not in FINAL:
                self.runs[run_id].update(state="CANCELED", finished_at=_now())
            return 200, {}
        elif method == "DELETE" and not verb:
            del self.runs[run_id]
            self._scripts.pop(run_id, None)
            return 200, {}
        return _error(405, f"stand-in: {method} runs/{name} is not served")

    # -- state ---------------------------------------------------------------------------------

    def _new_experiment(
        self, display_name: str, description: str, created_at: datetime | None
    ) -> dict[str, Any]:
        experiment = {
            "experiment_id": str(uuid.uuid4()),
            "display_name": display_name,
            "description": description,
            "created_at": (created_at.isoformat() if created_at else _now()),
            "storage_state": "AVAILABLE",
        }
        self.experiments[experiment["experiment_id"]] = experiment
        return experiment

    def _new_run(self, body: Mapping[str, Any], created_at: datetime | None) -> dict[str, Any]:
        run = {
            **{k: v for k, v in body.items() if v is not None},
            # a UUID, as KFP gives: unique across stand-ins, so a pod labelled with it is one run's
            "run_id": str(uuid.uuid4()),
            "state": "PENDING",
            "created_at": (created_at.isoformat() if created_at else _now()),
            "storage_state": "AVAILABLE",
        }
        self.runs[run["run_id"]] = run
        return run

    def _advance(self, run_id: str) -> dict[str, Any]:
        """The run as it is now, after moving it to its script's next state."""
        queue = self._scripts.get(run_id) or []
        if queue:
            shown = queue.pop(0) if len(queue) > 1 else queue[0]
            self.runs[run_id].update(shown)
            if shown.get("state") in FINAL:
                self.runs[run_id].setdefault("finished_at", _now())
        return self.runs[run_id]

    @staticmethod
    def _page(field: str, items: Sequence[dict[str, Any]], query: dict[str, list[str]]) -> Answer:
        filter_text = query.get("filter", [""])[0]
        if filter_text:
            predicates = json.loads(filter_text).get("predicates", [])
            for predicate in predicates:
                if predicate.get("key") != "display_name" or predicate.get("operation") not in (
                    "EQUALS",
                    1,
                ):
                    return _error(400, f"stand-in: filter {predicate} is not supported")
                items = [i for i in items if i.get("display_name") == predicate["string_value"]]
        size = int(query.get("page_size", ["100"])[0] or 100)
        start = int(query.get("page_token", ["0"])[0] or 0)
        page = list(items[start : start + size])
        following = start + size if start + size < len(items) else None
        answer: dict[str, Any] = {field: page, "total_size": len(items)}
        if following is not None:
            answer["next_page_token"] = str(following)
        return 200, answer


@contextmanager
def serving(stand_in: KfpStandIn | None = None) -> Iterator[tuple[KfpStandIn, str]]:
    """A :class:`KfpStandIn` served on 127.0.0.1 at a free port, and its base URL.

    Exit stops the server.
    """
    state = stand_in or KfpStandIn()
    with serve(state.answer) as url:
        yield state, url
