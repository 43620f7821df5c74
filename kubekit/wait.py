"""The one wait: ask a condition until it holds, a deadline passes, or waiting cannot help.

``wait_until(description, condition, timeout=…)`` calls *condition*; it returns a value when
done and raises :class:`NotReady` (its text: what is seen now) while not. Between attempts it
*blocks*: by default a short sleep with backoff; :func:`watch_until` blocks on a Kubernetes
watch instead, so a change wakes it at once. A *fatal* hook (a crashed process, a failed
step) stops it early with its reason. A timeout says what was seen last; never a hang.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from kubekit import retry
from kubekit.constants import REQUEST_TIMEOUT
from kubekit.exceptions import NotReady, WaitFailed, WaitTimeout, describe, http_status
from kubekit.transient import transient_reason

log = logging.getLogger("mnist_e2e.kube")
T = TypeVar("T")

WAKE_EVERY_SECONDS: Final = 15.0


def wait_until(
    description: str,
    condition: Callable[[], T],
    *,
    timeout: float,
    fatal: Callable[[], str | None] = lambda: None,
    block: Callable[[float], None] | None = None,
    max_interval: float = 1.0,
    logger: logging.Logger = log,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Call *condition* until it returns; return what it returned.

    Raises :class:`WaitFailed` when *fatal* gives a reason (asked before every attempt) and
    :class:`WaitTimeout` at the deadline, both naming *description*, the time waited and the
    last status. *block(seconds)* waits for a change between attempts (default: sleep, with
    backoff from 0.05 s up to *max_interval*).
    """
    started = clock()
    deadline = started + timeout
    status = "not asked yet"
    pause = 0.05
    while True:
        reason = fatal()
        if reason:
            raise WaitFailed(
                f"'{description}' failed after {clock() - started:.1f}s: {reason}",
                description=description,
            )
        try:
            return condition()
        except NotReady as exc:
            if str(exc) != status:
                status = str(exc)
                logger.info("'%s': %s", description, status)
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(
                f"'{description}' timed out after {clock() - started:.1f}s"
                f" (timeout {timeout:.0f}s); last seen: {status}",
                description=description,
            )
        if block is not None:
            block(remaining)
        else:
            sleep(min(pause, remaining))
            pause = min(pause * 2, max_interval)


@dataclass(frozen=True)
class Decision:
    """What a watch's *decide* function concluded about the objects it was shown."""

    done: bool = False
    failed: str | None = None  # a cause that waiting cannot fix: stop now, with it
    status: str = ""  # what is seen now, for the log and the timeout message


class _Watched:
    """The objects a list call returns, kept current by watching from the list's version."""

    def __init__(
        self, description: str, list_call: Callable[..., Any], kwargs: dict[str, Any]
    ) -> None:
        self.description, self.list_call, self.kwargs = description, list_call, kwargs
        self.objects: dict[str, Any] = {}
        self.resource_version: str | None = None  # None: list (again) before watching

    @staticmethod
    def _key(obj: Any) -> str:
        return obj.metadata.uid or f"{obj.metadata.namespace}/{obj.metadata.name}"

    def current(self) -> list[Any]:
        if self.resource_version is None:
            listed = retry.call(
                f"{self.description}: list",
                lambda: self.list_call(**self.kwargs, _request_timeout=REQUEST_TIMEOUT),
            )
            self.objects = {self._key(o): o for o in listed.items}
            self.resource_version = listed.metadata.resource_version
        return list(self.objects.values())

    def block(self, seconds: float) -> None:
        """Return at the first change (or after *seconds*), with the objects updated."""
        from kubernetes import watch

        stream = watch.Watch()
        timeout = max(1, int(seconds))
        try:
            for event in stream.stream(
                self.list_call,
                **self.kwargs,
                resource_version=self.resource_version,
                timeout_seconds=timeout,
                _request_timeout=(REQUEST_TIMEOUT[0], timeout + REQUEST_TIMEOUT[1]),
            ):
                obj = event["object"]
                if event["type"] == "DELETED":
                    self.objects.pop(self._key(obj), None)
                elif event["type"] in ("ADDED", "MODIFIED"):
                    self.objects[self._key(obj)] = obj
                self.resource_version = stream.resource_version or self.resource_version
                return
        except Exception as exc:
            # 410 Gone: the version is too old to watch from; list again, as after a reset.
            if http_status(exc) == 410 or transient_reason(exc) is not None:
                log.warning(
                    "'%s': watch interrupted (%s); listing again", self.description, describe(exc)
                )
                self.resource_version = None
                return
            raise WaitFailed(
                f"'{self.description}': watching failed: {describe(exc)}",
                description=self.description,
            ) from exc
        finally:
            stream.stop()


def watch_until(
    description: str,
    list_call: Callable[..., Any],
    decide: Callable[[list[Any]], Decision],
    *,
    timeout: float,
    list_kwargs: Mapping[str, Any] | None = None,
    fatal: Callable[[], str | None] = lambda: None,
    wake_every: float = WAKE_EVERY_SECONDS,
    logger: logging.Logger = log,
    clock: Callable[[], float] = time.monotonic,
) -> list[Any]:
    """:func:`wait_until` over the objects a ``list_*`` method of the kubernetes client returns.

    *decide* sees the objects after every change, and at least every *wake_every* seconds
    (some conditions are about time: a pod unschedulable for two minutes). Its ``failed``
    stops the wait with that cause. Returns the objects once *decide* says done.
    """
    watched = _Watched(description, list_call, dict(list_kwargs or {}))
    started = clock()

    def condition() -> list[Any]:
        objects = watched.current()
        decision = decide(objects)
        if decision.failed:
            raise WaitFailed(
                f"'{description}' failed after {clock() - started:.0f}s: {decision.failed}",
                description=description,
            )
        if not decision.done:
            raise NotReady(decision.status or "not yet")
        return objects

    return wait_until(
        description,
        condition,
        timeout=timeout,
        fatal=fatal,
        block=lambda remaining: watched.block(min(wake_every, remaining)),
        logger=logger,
        clock=clock,
    )


def until(
    description: str, condition: Callable[[], object], *, timeout: float, max_interval: float = 1.0
) -> None:
    """:func:`wait_until` for a yes/no check: poll *condition* until it returns something true."""

    def probe() -> None:
        if not condition():
            raise NotReady("not yet")

    wait_until(description, probe, timeout=timeout, max_interval=max_interval)
