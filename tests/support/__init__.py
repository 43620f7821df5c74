"""What the tests share: the real things they run, and the one set of test doubles.

Nothing here is shipped (the image copies only the packages the Dockerfile names).

Real things, not doubles:

- ``fixed_model``: a small linear SavedModel with fixed weights and a fully declared
  signature (``x`` [None, 784], int64 ``classes``, so the server's own shape checks are
  exercised; pixel *i* votes for class ``i % 10``), published the way the trainer publishes one; its
  answers are known in advance, so a server can be checked without training.
- ``original_model``: a SavedModel exported the way the Kubeflow example's ``model.py``
  exported its own (``x`` declared [None, 28, 28], uint8 ``classes``, signatures
  ``serving_default`` and ``classes``), with weights trained here in seconds; the web UI and
  the e2e assertions are run against it (tests/test_original_export.py).
- ``model_server``: the real ``python -m serving`` as a process on free loopback ports, its
  readiness waits and clients; the session's shared server is the ``model_server`` fixture
  (tests/conftest.py), used by the serving and the web UI tests.
- ``kfp_run_pods``: pods in the real tier cluster shaped like a KFP run's (KFP's and Argo's
  labels, the project image, ``imagePullPolicy: Never``), applied into a run's ledger, and
  waits on their status; used by cluster_tests/ where a pod of a chosen shape is needed
  (a crash loop in a namespace of its own); KFP's own runs make the rest.
- ``kube_objects``: Kubernetes objects as the client's typed models (a Deployment, its
  ReplicaSets, pods waiting or running, events), for the pure rollout decisions; built, not
  served: no API server is faked anywhere.
- ``loopback_http``: a real HTTP server on a loopback port that answers with a function the
  test writes. The server is real; the responders written with it are doubles of remote HTTP
  services (a dataset mirror in test_model_data.py; the KFP API stand-in below).

Doubles, each kept only for a fault or an observation the real thing cannot give here:

- ``kfp_stand_in.KfpStandIn``: a STAND-IN for the Kubeflow Pipelines v2beta1 API, for unit
  tests only (tests/): it injects a 5xx or 403 once (retries, a create that succeeded behind
  a lost answer), records what was sent (parameters, a bearer token for an external
  endpoint) and scripts run states. The cluster tier (cluster_tests/) runs the real KFP
  2.17.0 and real runs instead; no stand-in is imported there.

- ``scripted_predictions``: a PredictionService answering from a script, for what the real
  model server never does (answer off the contract, fail on a chosen call); the deploy
  step's probe is tested on it.

- ``grpc_tap.GrpcTap``: a pass-through gRPC proxy in front of the real model server. It
  records the requests a client sent (the real server keeps no record a test can read) and
  can hold each call back (nothing makes the real server slow, so a client's deadline could
  not be hit). Answers and errors are the real server's, unchanged.

Doubles that live elsewhere, and why:

- the recording ``runc`` in test_airgap_dropcaps.py: what runc is handed is the point of
  that test, and its docstring says so.
- one-off ``monkeypatch`` faults inside a single test (a half-written export in
  test_model_export.py, for one): each is next to the one assertion it serves.
"""
