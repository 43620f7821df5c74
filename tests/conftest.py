"""Fast tests of the harness's own parts; ``pytester`` runs real pytest sessions of the plugin."""

pytest_plugins = ["pytester"]
