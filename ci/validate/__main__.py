"""Run every offline check and exit non-zero if any fails: ``python -m ci.validate``.

Manifests (kustomize render, strict schemas for each Kubernetes version, semantics,
freshness of manifests/rendered/), the Dockerfile (hadolint, policy, image requirements)
the compiled pipeline (structure, KFP 2.17.0 compatibility) and the generated TF Serving
protos (tf_serving_api/_generated/ current with the lock). Each section prints "ok …"
or one "FAIL …" line per problem; a section that crashes counts as failed.
"""

from __future__ import annotations

import sys
import time
import traceback
from collections.abc import Callable

from ci.validate import dockerfile, generated_protos, manifests, pipeline_ir

# (name, check): add a section here to have `tox -e lint` run it.
SECTIONS: list[tuple[str, Callable[[], int]]] = [
    ("manifests", lambda: manifests.main([])),
    ("dockerfile", dockerfile.main),
    ("pipeline", pipeline_ir.main),
    ("protos", lambda: generated_protos.main([])),
]


def main() -> int:
    """Run each section; 1 if any failed."""
    failed = []
    for name, check in SECTIONS:
        started = time.perf_counter()
        try:
            status = check()
        except Exception:  # a crashing check is a failed check, reported, not a traceback exit
            traceback.print_exc()
            status = 1
        print(
            f"-- {name}: {'passed' if status == 0 else 'FAILED'} ({time.perf_counter() - started:.1f}s)"
        )
        if status != 0:
            failed.append(name)
    if failed:
        print(f"offline validation failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    print("offline validation passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
