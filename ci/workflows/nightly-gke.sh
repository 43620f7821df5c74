#!/usr/bin/env bash
# The nightly GKE job: clean what earlier runs left, then the e2e suite on GKE.
# Needs MNIST_E2E_KUBE_CONTEXT, MNIST_E2E_GCP_PROJECT, MNIST_E2E_REGISTRY and Application
# Default Credentials (in CI: google-github-actions/auth with workload identity federation).
set -euo pipefail
cd "$(dirname "$0")/../.."

# Runs older than the longest a run may take (its --wait-timeout plus provisioning) are dead.
tox -e janitor -- --platform gke --older-than "${MNIST_E2E_JANITOR_TTL:-6h}"
status=0
tox -e gke || status=$?
# A nightly whose every test skipped (no credentials, no cluster) tested nothing: fail it.
python3 ci/scripts/junit_ran.py artifacts/junit-gke.xml || status=1
exit "$status"
