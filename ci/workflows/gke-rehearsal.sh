#!/usr/bin/env bash
# The nightly's first job: the GKE run rehearsed on this machine (docs/gke-rehearsal.md):
# the e2e suite on --platform gke against the air-gapped kind cluster, a GCS emulator and a
# local registry. The real GKE job runs only when this passed (.github/workflows/nightly-gke.yml).
set -euo pipefail
cd "$(dirname "$0")/../.."

# Everything the rehearsal runs is built here, with no container registry (cached by inputs).
tox -e airgap
tox -e gke-rehearsal
# 27 passed and none skipped: a rehearsal that skipped proved nothing.
python3 ci/scripts/junit_ran.py --none-skipped artifacts/junit-gke-rehearsal.xml
