"""A stand-in for KFP's ``metadata-grpc`` server: the real ML Metadata store behind a Python gRPC front.

Every Kubeflow Pipelines release needs ML Metadata's gRPC server (``metadata_store_server``,
C++), which cannot be built here. The ``ml-metadata`` wheel carries the same C++ store
(SQLite and MySQL back ends, schema creation and migration, every query) and the
``MetadataStoreService`` protos; this package serves that store over gRPC
(``python -m metadata_server``, with ``metadata_store_server``'s own flags), forwarding each
call's serialized request to the store by method name. Where it differs, on purpose:

- **Unbound methods.** The wheel's extension has no binding for GetParentContextsByContexts,
  GetChildrenContextsByContexts and GetLineageGraph; they answer UNIMPLEMENTED, naming the
  method. KFP's driver and launcher call none of them.
- **Flags.** Only what KFP's manifests pass (``--grpc_port``, ``--mysql_config_*``,
  ``--enable_database_upgrade``) plus ``--metadata_store_connection_retries``; and
  ``--sqlite PATH`` and ``--port`` added. No config file, SSL or channel arguments (unknown
  flags are an error, as there). ``MNIST_METADATA_HOST`` narrows the bind address.
- **An unreachable database** during a call is UNAVAILABLE (the C++ server says INTERNAL),
  so KFP's client retries it.

Modules: :mod:`~metadata_server.command_line` (metadata_store_server's flags),
:mod:`~metadata_server.store` (the C++ store), :mod:`~metadata_server.service` (the generic
gRPC handler), :mod:`~metadata_server.grpc_server` (start and stop),
:mod:`~metadata_server.stderr_log` (the progress lines on stderr).
"""
