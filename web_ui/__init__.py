"""The MNIST web UI: a test digit, its truth, the model server's prediction and ten bars.

The app is built in :mod:`web_ui.app`; this package imports nothing itself, so a process that
only needs the gRPC client (:mod:`web_ui.predict_client`, e.g. the e2e suite's) does not load
Flask (measured: 0.13-0.2 s, on the e2e run's critical path).
"""
