"""The configured model servers, one long-lived gRPC client each, looked up by name."""

from __future__ import annotations

import atexit
import threading

from flask import Flask, current_app

from web_ui.predict_client import PredictClient
from web_ui.settings import UiConfig


class UnknownServer(KeyError):
    """The page asked for a server name that is not configured."""


class ModelServers:
    """Clients for the servers in :class:`UiConfig`, created on first use.

    gRPC channels are thread-safe and reconnect on their own, so one per server serves every
    request thread; they are closed when the process exits.
    """

    def __init__(self, config: UiConfig) -> None:
        self.config = config
        self._clients: dict[str, PredictClient] = {}
        self._lock = threading.Lock()
        atexit.register(self.close)

    def init_app(self, app: Flask) -> None:
        """Attach to *app*: views find this with :func:`model_servers`."""
        app.extensions["mnist_model_servers"] = self

    @property
    def names(self) -> list[str]:
        """The configured server names, the default first."""
        return list(self.config.model_servers)

    def client(self, name: str | None = None) -> PredictClient:
        """The client of server *name* (default: the first configured)."""
        name = name or self.config.default_server
        if name not in self.config.model_servers:
            raise UnknownServer(name)
        with self._lock:
            if name not in self._clients:
                self._clients[name] = PredictClient(
                    self.config.model_servers[name],
                    self.config.model_name,
                    self.config.timeout_seconds,
                )
            return self._clients[name]

    def close(self) -> None:
        """Close every client's channel."""
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()


def model_servers() -> ModelServers:
    """The current app's :class:`ModelServers`."""
    return current_app.extensions["mnist_model_servers"]
