"""The web UI's configuration, read from the environment only.

The model servers are named in ``MNIST_UI_MODEL_SERVERS``; the browser may pick one of them by
name, never supply an address (the UI must not become an open proxy).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from model.contract import MODEL_NAME
from model.contract import UI_DATA_DIR_ENV as DATA_DIR_VAR
from model.contract import UI_MODEL_NAME_ENV as MODEL_NAME_VAR
from model.contract import UI_SERVERS_ENV as SERVERS_VAR
from model.contract import UI_TIMEOUT_ENV as TIMEOUT_VAR

DEFAULT_TIMEOUT_SECONDS = 10.0

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_TARGET = re.compile(r"(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})")


class ConfigError(ValueError):
    """An environment variable of the web UI is missing or malformed."""


@dataclass(frozen=True)
class UiConfig:
    """Which model servers to ask (name → host:port), for which model, with what deadline."""

    model_servers: Mapping[str, str]
    model_name: str = MODEL_NAME
    data_dir: Path | None = None  # None: the MNIST sample shipped with model/
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @property
    def default_server(self) -> str:
        """The first configured server's name: the one a page uses unless told otherwise."""
        return next(iter(self.model_servers))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> UiConfig:
        """Read ``MNIST_UI_*``; raise :class:`ConfigError` naming the variable at fault."""
        env = os.environ if env is None else env
        servers = parse_servers(env.get(SERVERS_VAR, ""))
        model_name = env.get(MODEL_NAME_VAR, MODEL_NAME).strip()
        if not _NAME.fullmatch(model_name):
            raise ConfigError(f"{MODEL_NAME_VAR}={model_name!r} is not a model name")
        raw_timeout = env.get(TIMEOUT_VAR, str(DEFAULT_TIMEOUT_SECONDS))
        try:
            timeout = float(raw_timeout)
        except ValueError:
            timeout = -1.0
        if not 0 < timeout <= 300:
            raise ConfigError(
                f"{TIMEOUT_VAR}={raw_timeout!r} is not a number of seconds in (0, 300]"
            )
        data_dir = env.get(DATA_DIR_VAR, "").strip()
        if data_dir and not Path(data_dir).is_dir():
            raise ConfigError(f"{DATA_DIR_VAR}={data_dir!r} is not a directory")
        return cls(servers, model_name, Path(data_dir) if data_dir else None, timeout)


def parse_servers(value: str) -> dict[str, str]:
    """``name=host:port[,name=host:port…]``, or one bare ``host:port`` (named "default")."""
    entries = [entry.strip() for entry in value.split(",") if entry.strip()]
    if not entries:
        raise ConfigError(
            f"{SERVERS_VAR} is not set; set it to the model server's gRPC address,"
            " e.g. default=mnist-model:9000"
        )
    servers: dict[str, str] = {}
    for entry in entries:
        name, sep, target = entry.partition("=")
        if not sep:
            name, target = "default", entry
        name, target = name.strip(), target.strip()
        if not _NAME.fullmatch(name):
            raise ConfigError(
                f"{SERVERS_VAR}: {name!r} is not a server name (letters, digits, _.-)"
            )
        match = _TARGET.fullmatch(target)
        if not match or not 0 < int(match.group(1)) < 65536:
            raise ConfigError(f"{SERVERS_VAR}: {target!r} (for {name!r}) is not host:port")
        if name in servers:
            raise ConfigError(f"{SERVERS_VAR}: server name {name!r} appears twice")
        servers[name] = target
    return servers
