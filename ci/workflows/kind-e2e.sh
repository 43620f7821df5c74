#!/usr/bin/env bash
# The PR gate's cluster job: the e2e suite on a kind cluster this job creates and deletes.
# GitHub runs it from .github/workflows/pr-gate.yml; it runs the same on a laptop with docker.
set -euo pipefail
cd "$(dirname "$0")/../.."

# A fresh CI runner has no kind: the pinned release, checksum-verified.
ci/scripts/install-kind.sh "$HOME/.local/bin"
export PATH="$HOME/.local/bin:$PATH"

# tox -e kind prints the plan (the same steps it executes) before it runs them.
tox -e kind
