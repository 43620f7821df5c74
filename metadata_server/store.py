"""The real ML Metadata store: ml-metadata's C++ ``MetadataStore``, called by method name.

The wheel's pybind11 extension exposes each store method as
``metadata_store.<Method>(store, serialized_request) -> (serialized_response, message, code)``
(it is what ``ml_metadata.metadata_store.MetadataStore`` calls for a database connection).
``code`` is an absl status code, which has the same number as the gRPC status code of the same
name, so a store error becomes the gRPC status metadata_store_server would send.

How calls reach the database follows metadata_store_server: the schema is created (and, if
asked, upgraded) once at start; after that a MySQL store opens a fresh connection for every
call, as the C++ server does, so a restarted or idle-closed MySQL costs one failed call at
most, never the server. SQLite keeps one connection for the server's life, calls taking turns,
because an in-memory database exists only inside its one connection.
"""

from __future__ import annotations

import threading
from typing import Any, Final

from ml_metadata.metadata_store.pywrap.metadata_store_extension import (
    metadata_store as extension,
)
from ml_metadata.proto import metadata_store_pb2

from metadata_server.command_line import ServerFlags
from metadata_server.stderr_log import say

# absl/gRPC status codes used by this module (same numbers in both).
UNAVAILABLE: Final = 14
RETRY_SECONDS: Final = 1.0


class StoreError(Exception):
    """A store call ended with status *code* (absl = gRPC numbering) and *message*."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class StoreOpenError(RuntimeError):
    """The store could not be opened; the message names the database and the store's reason."""


def connection_config(flags: ServerFlags) -> metadata_store_pb2.ConnectionConfig:
    """The ``ConnectionConfig`` metadata_store_server would build from the same flags."""
    config = metadata_store_pb2.ConnectionConfig()
    if flags.mysql is not None:
        config.mysql.host = flags.mysql.host
        config.mysql.port = flags.mysql.port
        config.mysql.database = flags.mysql.database
        config.mysql.user = flags.mysql.user
        config.mysql.password = flags.mysql.password
    elif flags.sqlite is not None:
        config.sqlite.filename_uri = flags.sqlite
        config.sqlite.connection_mode = (
            metadata_store_pb2.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
        )
    else:
        config.fake_database.SetInParent()
    return config


def migration_options(flags: ServerFlags) -> metadata_store_pb2.MigrationOptions:
    """Upgrade an older schema only when ``--enable_database_upgrade`` asks for it."""
    return metadata_store_pb2.MigrationOptions(
        enable_upgrade_migration=flags.enable_database_upgrade
    )


def supports(method: str) -> bool:
    """Whether the extension can run the service method *method* (it binds all but a few)."""
    return callable(getattr(extension, method, None))


def _create(config: bytes, migration: bytes) -> Any:
    try:
        return extension.CreateMetadataStore(config, migration)
    except RuntimeError as exc:  # the extension turns every failed status into RuntimeError
        raise StoreOpenError(str(exc) or type(exc).__name__) from exc


class Store:
    """Runs MetadataStoreService methods on serialized requests against one database."""

    def __init__(self, config: metadata_store_pb2.ConnectionConfig, handle: Any) -> None:
        self._config = config.SerializeToString()
        self._no_migration = metadata_store_pb2.MigrationOptions().SerializeToString()
        self._per_call = config.HasField("mysql")
        # A MySQL store connects per call, so the start-up connection is not kept.
        self._handle: Any = None if self._per_call else handle
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def open(
        cls,
        flags: ServerFlags,
        stop: threading.Event | None = None,
    ) -> Store:
        """Create (or upgrade) the schema and return a store ready for calls.

        MySQL is tried ``flags.connection_retries`` more times, a second apart, because in a
        cluster the database often starts after this server; SQLite opens or fails at once.
        Raises :class:`StoreOpenError` with the store's reason.
        """
        stop = stop or threading.Event()
        config = connection_config(flags)
        migration = migration_options(flags).SerializeToString()
        retries = flags.connection_retries if config.HasField("mysql") else 0
        attempt = 0
        while True:
            try:
                handle = _create(config.SerializeToString(), migration)
                return cls(config, handle)
            except StoreOpenError as exc:
                if attempt >= retries:
                    raise StoreOpenError(f"cannot open {flags.describe_store()}: {exc}") from exc
                attempt += 1
                say(
                    f"open {flags.describe_store()}: {exc}; retry {attempt} of {retries}"
                    f" in {RETRY_SECONDS:g} s"
                )
                if stop.wait(RETRY_SECONDS):
                    raise StoreOpenError(f"stopped while opening {flags.describe_store()}") from exc

    def call(self, method: str, request: bytes) -> bytes:
        """Run *method* on the serialized *request*; return the serialized response.

        Raises :class:`StoreError` with the store's status (NOT_FOUND, ALREADY_EXISTS,
        INVALID_ARGUMENT, ABORTED, ...), or UNAVAILABLE when the database cannot be reached.
        """
        function = getattr(extension, method)
        if self._per_call:
            if self._closed:
                raise StoreError(UNAVAILABLE, "the metadata server is shutting down")
            try:
                handle = _create(self._config, self._no_migration)
            except StoreOpenError as exc:
                # UNAVAILABLE, not the C++ server's INTERNAL: KFP's client retries UNAVAILABLE.
                raise StoreError(UNAVAILABLE, f"cannot connect to the database: {exc}") from exc
            return _result(function(handle, request))
        with self._lock:
            if self._handle is None:
                raise StoreError(UNAVAILABLE, "the metadata server is shutting down")
            return _result(function(self._handle, request))

    def close(self) -> None:
        """Release the database connection; later calls fail with UNAVAILABLE."""
        with self._lock:
            self._closed = True
            # Dropping the last reference runs the C++ destructor, which closes the database.
            self._handle = None


def _result(outcome: tuple[bytes, bytes, int]) -> bytes:
    response, message, code = outcome
    if code != 0:
        raise StoreError(code, message.decode("utf-8", errors="replace"))
    return response
