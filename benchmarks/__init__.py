"""Performance measurements of the harness and the pipeline it tests (not tests).

``python -m benchmarks`` runs every benchmark; ``python -m benchmarks NAME`` one of them
(phases, training, serving, ui). Each prints a table and writes ``artifacts/benchmarks/NAME.json``.
"""
