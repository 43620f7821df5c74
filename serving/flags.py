"""The command line: ``tensorflow_model_server``'s own flags, so one command line fits both.

The local platform builds one argv for either binary, so the flag names, defaults and meaning
are TF Serving's. The differences are additions: ``--flag value`` is accepted beside
``--flag=value`` (TF Serving's parser takes only the latter), the poll interval may be a
fraction of a second (tests poll every 0.2 s; TF Serving takes whole seconds), and two caps
TF Serving does not have, ``--max_request_rows`` and ``--max_request_bytes`` (see
serving/limits.py; the harness leaves them at their defaults, so its command line still fits
both binaries). The bind address is not a flag, because ``tensorflow_model_server`` has none:
it comes from the environment variable ``MNIST_SERVING_HOST`` (default ``0.0.0.0``, TF
Serving's own).
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NoReturn

from model.contract import SERVING_HOST_ENV as HOST_ENV
from serving.limits import DEFAULT_LIMITS, DEFAULT_MAX_BYTES, DEFAULT_MAX_ROWS, RequestLimits

DEFAULT_HOST: Final = "0.0.0.0"  # TF Serving listens on every interface too
MAX_PORT: Final = 65535


@dataclass(frozen=True)
class ServerFlags:
    """What the server was asked to do, checked."""

    port: int
    rest_api_port: int
    model_name: str
    model_base_path: str
    file_system_poll_wait_seconds: float
    host: str = DEFAULT_HOST
    limits: RequestLimits = DEFAULT_LIMITS
    rest_api_num_threads: int = 0  # 0: TF Serving's default, four per CPU


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse's own text ("unrecognized arguments: --foo") plus what is accepted.
        self.print_usage()
        self.exit(
            2,
            f"{self.prog}: error: {message}\n"
            "(the embedded model server takes tensorflow_model_server's flags: --port,"
            " --rest_api_port, --rest_api_num_threads, --model_name, --model_base_path,"
            " --file_system_poll_wait_seconds; and --max_request_rows, --max_request_bytes)\n",
        )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"{value} is not a port in 0..{MAX_PORT}")
    return value


def _poll_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not allowed; give 0 (poll once, at start) or a positive interval"
        )
    return value


def _at_least_one(what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of {what}") from None
        if value < 1:
            raise argparse.ArgumentTypeError(f"{value} is not allowed; give 1 or more {what}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with TF Serving's flag names, defaults and help."""
    parser = _Parser(
        prog="python -m serving",
        description="Embedded TF Serving stand-in: serves the newest SavedModel version.",
        allow_abbrev=False,  # TF Serving matches flag names exactly
    )
    parser.add_argument(
        "--port", type=_port, default=8500, help="gRPC port (default 8500, as TF Serving)"
    )
    parser.add_argument(
        "--rest_api_port",
        type=_port,
        default=0,
        help="REST API port; 0 (the default) turns the REST API off",
    )
    parser.add_argument(
        "--rest_api_num_threads",
        type=_at_least_one("threads"),
        default=0,
        help="REST requests read and answered at a time (default: four per CPU, as TF Serving)",
    )
    parser.add_argument(
        "--max_request_rows",
        type=_at_least_one("rows"),
        default=DEFAULT_MAX_ROWS,
        help=f"most rows (first dimension) one request may carry (default {DEFAULT_MAX_ROWS});"
        " not a TF Serving flag",
    )
    parser.add_argument(
        "--max_request_bytes",
        type=_at_least_one("bytes"),
        default=DEFAULT_MAX_BYTES,
        help="most bytes one request may carry: the REST body, the gRPC message, each"
        f" decoded input tensor (default {DEFAULT_MAX_BYTES}, 64 MiB); not a TF Serving flag",
    )
    parser.add_argument(
        "--model_name", default="default", help="name clients put in model_spec.name"
    )
    parser.add_argument(
        "--model_base_path",
        default="",
        help="directory or gs://bucket/prefix holding <int version>/saved_model.pb",
    )
    parser.add_argument(
        "--file_system_poll_wait_seconds",
        type=_poll_seconds,
        default=1.0,
        help="seconds between polls of the base path for new versions; 0 polls once",
    )
    return parser


def parse(argv: Sequence[str], environ: Mapping[str, str]) -> ServerFlags:
    """Parse *argv* (without the program name); exit 2 with a clear message if it is wrong."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if not args.model_base_path:
        parser.error("--model_base_path is required (a directory or gs://bucket/prefix)")
    if not args.model_name:
        parser.error("--model_name must not be empty")
    if args.rest_api_port and args.rest_api_port == args.port:
        parser.error(
            f"--rest_api_port {args.rest_api_port} is the same as --port; give them different"
            " ports, or --rest_api_port=0 to turn REST off"
        )
    return ServerFlags(
        port=args.port,
        rest_api_port=args.rest_api_port,
        model_name=args.model_name,
        model_base_path=args.model_base_path,
        file_system_poll_wait_seconds=args.file_system_poll_wait_seconds,
        host=environ.get(HOST_ENV) or DEFAULT_HOST,
        limits=RequestLimits(max_rows=args.max_request_rows, max_bytes=args.max_request_bytes),
        rest_api_num_threads=args.rest_api_num_threads,
    )
