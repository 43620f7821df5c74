"""The embedded model server: TF Serving's gRPC and REST APIs over the newest exported version.

The local platform runs it (``python -m serving``, with ``tensorflow_model_server``'s own flags)
when ``tensorflow_model_server`` is not on PATH. It loads the SavedModel with TensorFlow, polls
the model base path (a directory or ``gs://``) for newer versions the way TF Serving does, and
answers ``PredictionService`` (Predict, GetModelMetadata), ``ModelService`` (GetModelStatus),
the standard ``grpc.health.v1`` health service and, on ``--rest_api_port``, TF Serving's REST
API. Status codes, error texts and response fields are TF Serving's wherever a client can see
them. Where it differs, on purpose:

- **No version yet.** TF Serving opens its ports only after the first version has loaded, so
  until then its clients get UNAVAILABLE (connection refused). This server listens at once so
  its health service can say NOT_SERVING; Predict and GetModelMetadata answer what TF Serving
  answers whenever it is up without a loaded version: NOT_FOUND, ``Servable not found for
  request: Latest(mnist)`` (plus a hint). Readiness checks treat both codes as "not yet";
  the health service (SERVING once a version is loaded) is the precise signal.
- **Flags.** Only the ones the harness uses, plus ``--rest_api_num_threads``;
  ``--flag value`` is accepted beside ``--flag=value``; the poll interval may be fractional;
  the bind address comes from ``MNIST_SERVING_HOST`` (default ``0.0.0.0``) because
  ``tensorflow_model_server`` has no flag for it. Unknown flags are an error, as there.
- **Limits.** ``--max_request_rows`` and ``--max_request_bytes`` (serving/limits.py), which TF
  Serving has not: a request over them is refused, naming the flag, before anything is
  allocated; an empty batch is refused with a message, where TF Serving lets the model fail.
- **Input errors.** Same code (INVALID_ARGUMENT); for a wrong dtype, shape or JSON value the
  message is this server's own and names the input, what came and what the signature expects.
  An input declared with no shape (this project's ``x``, which takes [N, 784] and [N, 28, 28])
  is checked by the model's own graph, with the model's message, in both servers alike; the
  limits still apply to it (rows are its first dimension).
- **Not served.** Classify, Regress, MultiInference (UNIMPLEMENTED, REST 501), model config
  files and version labels (every label is unknown: INVALID_ARGUMENT, as TF Serving without a
  config), batching, monitoring. A failed load is retried on each poll, up to 5 times (TF
  Serving's retry count; it waits a minute between tries).

Importing this package is cheap: TensorFlow is imported only by the modules that need it.
"""
