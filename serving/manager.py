"""Keeps the newest version loaded: polls the store, loads in the background, swaps, unloads.

One poll thread does all loading, so request threads never wait for a load: they keep
getting the old version until the new one has loaded and warmed up, then the next request
gets the new one (availability preserving, as TF Serving). Requests look servables up in an
immutable mapping that the poll thread replaces whole, so a lookup needs no lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import grpc

from serving import version_policy
from serving.log import say
from serving.status_errors import ServingError, invalid_argument, servable_not_found
from serving.storage import ModelStore, StorageError

if TYPE_CHECKING:
    from serving.servable import Servable

# ModelVersionStatus.State names (tensorflow_serving/apis/get_model_status.proto).
LOADING: Final = "LOADING"
AVAILABLE: Final = "AVAILABLE"
END: Final = "END"

Loader = Callable[[str, int, Path], "Servable"]


def _load_servable(name: str, version: int, directory: Path) -> Servable:
    from serving.servable import Servable  # TensorFlow, imported by the poll thread only

    return Servable.load(name, version, directory)


@dataclass(frozen=True)
class VersionStatus:
    """Where one version is in its life, and why it ended if it failed (*code*, *error*)."""

    version: int
    state: str
    error: str = ""
    code: grpc.StatusCode = grpc.StatusCode.OK


def load_error(exc: Exception) -> tuple[grpc.StatusCode, str]:
    """The status a failed load ends in: a ServingError's own (TensorFlow's code and text),
    UNKNOWN with the exception named for anything else."""
    if isinstance(exc, ServingError):
        return exc.code, exc.message
    return grpc.StatusCode.UNKNOWN, f"{type(exc).__name__}: {exc}"


class ModelManager:
    """Serves model *name* from *store*, polling it every *poll_seconds* (0: once)."""

    def __init__(
        self,
        name: str,
        store: ModelStore,
        poll_seconds: float,
        *,
        loader: Loader = _load_servable,
        on_serving: Callable[[bool], None] = lambda serving: None,
    ) -> None:
        self.name = name
        self.store = store
        self.poll_seconds = poll_seconds
        self._loader = loader
        self._on_serving = on_serving
        self._loaded: MappingProxyType[int, Servable] = MappingProxyType({})
        self._states: dict[int, VersionStatus] = {}
        self._attempts: dict[int, int] = {}
        self._given_up: set[int] = set()
        self._last_note = ""
        self._lock = threading.Lock()  # guards _states and the swap of _loaded
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the poll thread ---------------------------------------------------------------------

    def start(self) -> None:
        """Start polling in a background thread."""
        self._thread = threading.Thread(target=self._run, name="model-poller", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop polling; wait (up to *timeout*) for a load in progress to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as exc:  # never let the poller die: the next poll may succeed
                self._note(f"poll of {self.store.base_path} failed: {type(exc).__name__}: {exc}")
            if self.poll_seconds == 0:  # TF Serving: 0 means poll exactly once
                return
            self._stop.wait(self.poll_seconds)

    def poll_once(self) -> version_policy.Plan:
        """Look at the store once and act on it; return what was decided."""
        try:
            available = self.store.versions()
            decision = version_policy.plan(
                available, set(self._loaded), self.store.is_complete, self._given_up
            )
        except StorageError as exc:
            self._note(f"{exc}; keeping what is loaded, retrying")
            return version_policy.Plan()
        if not available:
            self._note(
                f"no versions of model {self.name} found under {self.store.base_path} yet;"
                " waiting for <int version>/saved_model.pb"
            )
        if decision.load is not None and not self._load(decision.load):
            return decision  # keep serving what is loaded; the next poll retries
        for version in decision.unload:
            self._unload(version)
        return decision

    def _note(self, message: str) -> None:
        # Said once per change, not on every poll (a poll may come five times a second).
        if message != self._last_note:
            self._last_note = message
            say(message)

    def _set_state(
        self, version: int, state: str, error: str = "", code: grpc.StatusCode = grpc.StatusCode.OK
    ) -> None:
        with self._lock:
            self._states[version] = VersionStatus(version, state, error, code)

    def _load(self, version: int) -> bool:
        if self._stop.is_set():
            return False
        location = self.store.location(version)
        self._set_state(version, LOADING)
        say(f"loading model {self.name} version {version} from {location}")
        try:
            servable = self._loader(self.name, version, self.store.fetch(version))
        except Exception as exc:
            self.store.release(version)
            self._attempts[version] = self._attempts.get(version, 0) + 1
            code, error = load_error(exc)
            if version_policy.should_give_up(self._attempts, version):
                self._given_up.add(version)
                self._set_state(version, END, error, code)
                say(
                    f"giving up on model {self.name} version {version} after"
                    f" {self._attempts[version]} failed loads: {code.name}: {error}"
                )
            else:
                # TF Serving's harness keeps a retried version LOADING with an OK status; the
                # error is published only with END, once it gives up, so a client asking
                # GetModelStatus can tell "still trying" from "failed for good".
                self._set_state(version, LOADING)
                say(
                    f"failed to load model {self.name} version {version} (will retry):"
                    f" {code.name}: {error}"
                )
            return False
        with self._lock:
            was_serving = bool(self._loaded)
            self._loaded = MappingProxyType({**self._loaded, version: servable})
            self._states[version] = VersionStatus(version, AVAILABLE)
        say(f"loaded model {self.name} version {version}")
        say(f"version {version} took {servable.load_seconds:.2f} s to load and warm up")
        if not was_serving:
            self._on_serving(True)
        return True

    def _unload(self, version: int) -> None:
        with self._lock:
            self._loaded = MappingProxyType({v: s for v, s in self._loaded.items() if v != version})
            self._states[version] = VersionStatus(version, END)
            serving = bool(self._loaded)
        # In-flight requests hold their own reference; TensorFlow frees the version after.
        self.store.release(version)
        say(f"unloaded model {self.name} version {version}")
        if not serving:
            self._on_serving(False)

    # -- what request threads ask --------------------------------------------------------------

    @property
    def serving(self) -> bool:
        """Whether some version is loaded."""
        return bool(self._loaded)

    def loaded_versions(self) -> list[int]:
        """The versions loaded now, ascending."""
        return sorted(self._loaded)

    def resolve(self, name: str, version: int | None = None, label: str = "") -> Servable:
        """The servable a model spec asks for, or the error TF Serving gives for it."""
        if not name:
            raise invalid_argument("ModelSpec has no name specified.")
        if name != self.name:
            raise servable_not_found(name, version)
        if version is None and label:
            # Labels come from a model config file, which this server (like TF Serving run
            # with --model_name/--model_base_path) does not have: every label is unknown.
            raise invalid_argument(f"Unrecognized servable version label: {label}")
        loaded = self._loaded  # one read: the poll thread may swap it meanwhile
        if version is not None:
            servable = loaded.get(version)
            if servable is None:
                raise servable_not_found(name, version, self._loaded_hint(loaded))
            return servable
        if not loaded:
            raise servable_not_found(
                name,
                hint=f" (no version loaded yet; polling {self.store.base_path} for"
                " <int version>/saved_model.pb)",
            )
        return loaded[max(loaded)]

    @staticmethod
    def _loaded_hint(loaded: MappingProxyType[int, Servable]) -> str:
        if not loaded:
            return " (no version loaded yet)"
        return f" (loaded: {', '.join(str(v) for v in sorted(loaded))})"

    def statuses(self, name: str, version: int | None = None) -> list[VersionStatus]:
        """GetModelStatus's answer: every version seen, newest first, or TF Serving's error."""
        if not name:
            raise invalid_argument("ModelSpec has no name specified.")
        with self._lock:
            states = dict(self._states)
        if name != self.name or not states:
            raise ServingError(
                grpc.StatusCode.NOT_FOUND, f"Could not find any versions of model {name}"
            )
        if version is not None:
            if version not in states:
                raise ServingError(
                    grpc.StatusCode.NOT_FOUND, f"Could not find version {version} of model {name}"
                )
            return [states[version]]
        return [states[v] for v in sorted(states, reverse=True)]
