"""The deploy steps' command line, as the pipeline's serve and web-ui containers run it.

    python -m pipeline.deploy serve  --overlay kind|gke --namespace NS --model-base-path P
        [--run-id ID] [--pvc-name N] [--serving-image IMG] [--gcp-service-account EMAIL]
        [--gcp-secret NAME] [--timeout SECONDS] [--output FILE]
    python -m pipeline.deploy web-ui --overlay kind|gke --namespace NS --image IMG
        --model-server HOST:PORT [--run-id ID] [--service-type ClusterIP|LoadBalancer|NodePort]
        [--timeout SECONDS] [--output FILE]
        (both also: [--context NAME] [--kubeconfig FILE], used outside a pod)
    python -m pipeline.deploy render --overlay kind|gke --namespace NS [--run-id ID]
        [--part serve|web-ui|rbac|storage ...] [--pvc-name N] [--pipeline-namespace NS]
        [--node-name NODE]

In a pod it uses the pod's service account; elsewhere the kubeconfig (``--context``). Exit
status: 0 done, 1 the deployment failed (the cause is printed, one line), 2 a bad argument.
Progress lines go to stdout (the step pod's log), the failure to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import yaml
from kubernetes.client import ApiClient

from kubekit.client import in_pod_or_from_kubeconfig
from kubekit.exceptions import ActionFailed
from pipeline.deploy import render, steps
from pipeline.deploy.errors import DeployError, explain


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of seconds")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The parser for all three subcommands."""
    parser = argparse.ArgumentParser(
        prog="python -m pipeline.deploy",
        description="Deploy TF Serving or the web UI for one mnist-e2e run, and wait for it.",
        allow_abbrev=False,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    _serve_arguments(
        sub.add_parser("serve", help="deploy TF Serving and wait for a real prediction")
    )
    _web_ui_arguments(sub.add_parser("web-ui", help="deploy the web UI and wait for /readyz"))
    _render_arguments(
        sub.add_parser(
            "render",
            help="print the overlay's objects in the run's namespace with its labels, as YAML"
            " (images and model path as the overlay has them)",
        )
    )
    return parser


def _common_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overlay", choices=render.OVERLAYS, required=True)
    p.add_argument("--namespace", required=True, help="the run's namespace")
    p.add_argument(
        "--run-id", default="", help="value of the mnist-e2e/run-id label (default: namespace)"
    )


def _deploy_arguments(p: argparse.ArgumentParser) -> None:
    _common_arguments(p)
    p.add_argument("--timeout", type=_positive_seconds, default=600.0, help="seconds")
    p.add_argument("--output", type=Path, help="write the service's address here")
    p.add_argument("--context", help="kubeconfig context (outside a cluster)")
    p.add_argument("--kubeconfig", help="kubeconfig file (outside a cluster; default $KUBECONFIG)")


def _serve_arguments(serve: argparse.ArgumentParser) -> None:
    _deploy_arguments(serve)
    serve.add_argument("--model-base-path", required=True, help="/mnt/... (kind) or gs://...")
    serve.add_argument("--pvc-name", default=render.PVC_NAME)
    serve.add_argument("--serving-image", default=render.TF_SERVING_IMAGE)
    serve.add_argument("--gcp-service-account", default="", help="workload identity (gke)")
    serve.add_argument("--gcp-secret", default="", help="Secret with key.json (gke)")
    serve.add_argument(
        "--no-preflight",
        dest="preflight",
        action="store_false",
        help="do not check the export for a version first",
    )
    serve.add_argument(
        "--probe-target", help="host:port for the final Predict (default: the Service)"
    )


def _web_ui_arguments(web: argparse.ArgumentParser) -> None:
    _deploy_arguments(web)
    web.add_argument("--image", required=True, help="the project image")
    web.add_argument("--model-server", required=True, help="TF Serving's host:port")
    web.add_argument("--service-type", choices=render.SERVICE_TYPES, default="ClusterIP")
    web.add_argument("--probe-url", help="base URL for /readyz (default: the Service)")


def _render_arguments(show: argparse.ArgumentParser) -> None:
    _common_arguments(show)
    show.add_argument("--part", choices=render.PARTS, action="append")
    show.add_argument("--pvc-name", default=render.PVC_NAME, help="storage: the model PVC")
    show.add_argument(
        "--pipeline-namespace",
        default=render.PIPELINE_NAMESPACE,
        help="storage: where KFP runs the steps (a second PVC goes there)",
    )
    show.add_argument("--node-name", help="storage: pin the model volume to this node")


def api_client(context: str | None, kubeconfig: str | None = None) -> ApiClient:
    """An ApiClient from the pod's service account, or from the kubeconfig outside a pod
    (*kubeconfig*, else $KUBECONFIG read now, else ~/.kube/config)."""
    try:
        return in_pod_or_from_kubeconfig(context, kubeconfig)
    except ActionFailed as exc:
        raise DeployError(
            f"no Kubernetes credentials: not in a pod, and {exc};"
            " pass --kubeconfig/--context or set KUBECONFIG"
        ) from exc


@contextlib.contextmanager
def progress_on_stdout() -> Iterator[None]:
    """The steps' and kubekit's progress (the ``mnist_e2e`` loggers), one plain line each, on
    stdout, the pod's log, for the duration of the block."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("mnist_e2e")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    """Run one subcommand; return the exit status."""
    args = build_parser().parse_args(argv)
    run_id = args.run_id or args.namespace
    with progress_on_stdout():
        return _run(args, run_id)


def _run(args: argparse.Namespace, run_id: str) -> int:
    try:
        if args.command == "render":
            print(yaml.safe_dump_all(_render(args, run_id), sort_keys=False), end="")
            return 0
        if args.command == "serve":
            settings = steps.ServeSettings(
                overlay=args.overlay,
                namespace=args.namespace,
                run_id=run_id,
                model_base_path=args.model_base_path,
                pvc_name=args.pvc_name,
                image=args.serving_image,
                gcp_service_account=args.gcp_service_account,
                gcp_secret=args.gcp_secret,
                storage_emulator_host=os.environ.get(render.STORAGE_EMULATOR_ENV, ""),
                timeout_seconds=args.timeout,
                preflight=args.preflight,
                probe_target=args.probe_target,
            )
            result = steps.serve(settings, api_client(args.context, args.kubeconfig))
        else:
            result = steps.web_ui(
                steps.WebUiSettings(
                    overlay=args.overlay,
                    namespace=args.namespace,
                    run_id=run_id,
                    image=args.image,
                    model_server=args.model_server,
                    service_type=args.service_type,
                    timeout_seconds=args.timeout,
                    probe_url=args.probe_url,
                ),
                api_client(args.context, args.kubeconfig),
            )
    except render.RenderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except ActionFailed as exc:  # kubekit's typed API errors, rollouts and DeployError
        print(f"error: {args.command}: {explain(exc, args.namespace)}", file=sys.stderr)
        return 1
    if args.output is not None:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(result, encoding="utf-8")
    print(result)
    return 0


def _render(args: argparse.Namespace, run_id: str) -> list[render.Obj]:
    """The parts asked for: RBAC and storage exactly as the harness applies them; serve and
    web-ui in the run's namespace with its labels (images and model path as the overlay has)."""
    run = {"namespace": args.namespace, "run_id": run_id}
    objects: list[render.Obj] = []
    for part in args.part or render.PARTS:
        if part == "rbac":
            objects += render.rbac_objects(args.overlay, **run)
        elif part == "storage":
            if args.overlay == "kind":
                objects += render.storage_objects(
                    args.overlay,
                    pvc_name=args.pvc_name,
                    pipeline_namespace=args.pipeline_namespace,
                    node_name=args.node_name,
                    **run,
                )
        else:
            overlay = render.load_overlay(args.overlay)
            objects += render.for_run(render.select(overlay, part), **run)
    return objects


if __name__ == "__main__":
    sys.exit(main())
