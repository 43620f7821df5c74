"""Compile the MNIST pipeline to KFP IR YAML.

    python -m pipeline.compile --platform onprem|gcp -o FILE [--image IMG] [--gcp-secret NAME]

The output is a KFP v2 pipeline spec (schema 2.1.0) with a Kubernetes platform spec, for a
Kubeflow Pipelines 2.17.0 backend; ``python -m ci.validate`` checks both variants against the
protos that backend is built from.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kfp import compiler

from pipeline.deploy.render import RenderError
from pipeline.pipeline import DEFAULT_IMAGE, PLATFORMS, build_pipeline


def compile_pipeline(
    platform: str,
    output: Path,
    image: str = DEFAULT_IMAGE,
    gcp_secret: str = "",
    storage_emulator_host: str = "",
) -> Path:
    """Write the *platform* pipeline, its steps in *image*, to *output*; return the path."""
    output.parent.mkdir(parents=True, exist_ok=True)
    pipeline = build_pipeline(platform, image, gcp_secret, storage_emulator_host)
    compiler.Compiler().compile(pipeline, str(output))
    return output


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and compile; 2 on a bad argument."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.compile",
        description="Compile the mnist-e2e pipeline (train → serve → web-ui) to KFP IR YAML.",
        allow_abbrev=False,
    )
    parser.add_argument(
        "--platform", choices=PLATFORMS, required=True, help="onprem: model on a PVC; gcp: in GCS"
    )
    parser.add_argument("-o", "--output", type=Path, required=True, help="the YAML file to write")
    parser.add_argument(
        "--image",
        default=DEFAULT_IMAGE,
        help=f"the project image every step runs in (default {DEFAULT_IMAGE}); pin a tag or digest",
    )
    parser.add_argument(
        "--gcp-secret",
        default="",
        help="gcp only: a Secret holding a service-account key.json, instead of workload identity",
    )
    parser.add_argument(
        "--storage-emulator-host",
        default="",
        help="gcp only: a GCS emulator (http://HOST:PORT) the train and serve steps and the"
        " model server use instead of GCS (the GKE rehearsal, docs/gke-rehearsal.md)",
    )
    args = parser.parse_args(argv)
    try:
        path = compile_pipeline(
            args.platform, args.output, args.image, args.gcp_secret, args.storage_emulator_host
        )
    except (RenderError, ValueError) as exc:
        parser.error(str(exc))
    print(f"wrote {path} ({args.platform}, image {args.image})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
