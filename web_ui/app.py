"""The web UI's Flask app: configuration, test digits, model servers and the pages' views."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask

from web_ui.digits import DigitSet
from web_ui.servers import ModelServers
from web_ui.settings import UiConfig


def create_app(test_config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app from the environment (or *test_config*: a ``UiConfig`` under "UI").

    Fails at once, naming the variable or file, when the configuration or the MNIST test
    files are wrong: a UI that cannot show a digit should not start.
    """
    app = Flask(__name__)
    # Werkzeug's routing redirects "/api//predict" (merged slashes) and "//" (a missing
    # slash) to an absolute URL built from the request's Host header, which any client can
    # set. With both off, routing never redirects: a path matches a route, or is not found.
    app.url_map.merge_slashes = False
    app.url_map.strict_slashes = False
    app.config.from_mapping(test_config or {})
    ui_config: UiConfig = app.config.get("UI") or UiConfig.from_env()
    app.config["UI"] = ui_config
    DigitSet.load(ui_config.data_dir).init_app(app)
    ModelServers(ui_config).init_app(app)

    from web_ui import views

    app.register_blueprint(views.bp)
    return app
