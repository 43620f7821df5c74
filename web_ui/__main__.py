"""Serve the web UI: ``python -m web_ui [--host H] [--port P] [--threads N]``.

Configuration comes from the environment (``MNIST_UI_MODEL_SERVERS``, ``MNIST_UI_MODEL_NAME``,
``MNIST_UI_DATA_DIR``, ``MNIST_UI_TIMEOUT_SECONDS``); see web_ui/settings.py.
"""

from __future__ import annotations

import argparse
import sys

from model.contract import UI_PORT


def main(argv: list[str] | None = None) -> int:
    """Parse flags, build the app (failing fast on bad config or data), serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m web_ui", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=int, default=UI_PORT, help=f"port (default {UI_PORT})")
    parser.add_argument("--threads", type=int, default=8, help="request threads (default 8)")
    args = parser.parse_args(argv)

    from web_ui.app import create_app
    from web_ui.settings import ConfigError

    try:
        app = create_app()
    except (ConfigError, OSError, ValueError) as exc:
        print(f"web_ui: {exc}", file=sys.stderr)
        return 2

    import waitress

    print(f"web_ui: serving on http://{args.host}:{args.port}", flush=True)
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident="mnist-web-ui")
    return 0


if __name__ == "__main__":
    sys.exit(main())
