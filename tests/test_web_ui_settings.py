"""The web UI reads its model servers and limits from the environment, and names what is wrong."""

from pathlib import Path

import pytest

from web_ui.settings import ConfigError, UiConfig, parse_servers


def test_named_servers_keep_their_order() -> None:
    assert parse_servers("a=mnist-model:9000, b=10.0.0.7:9001") == {
        "a": "mnist-model:9000",
        "b": "10.0.0.7:9001",
    }


def test_a_bare_address_is_the_default_server() -> None:
    assert parse_servers("127.0.0.1:9000") == {"default": "127.0.0.1:9000"}


def test_ipv6_addresses_are_accepted() -> None:
    assert parse_servers("v6=[::1]:9000") == {"v6": "[::1]:9000"}


@pytest.mark.parametrize(
    ("value", "complaint"),
    [
        ("", "is not set"),
        ("a=mnist-model", "is not host:port"),
        ("a=http://evil:80/", "is not host:port"),
        ("a=host:70000", "is not host:port"),
        ("a=h:1,a=h:2", "appears twice"),
        ("bad name=h:1", "is not a server name"),
    ],
)
def test_malformed_servers_are_refused_naming_the_variable(value: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match="MNIST_UI_MODEL_SERVERS") as caught:
        parse_servers(value)
    assert complaint in str(caught.value)


def test_from_env_reads_every_variable(tmp_path: Path) -> None:
    config = UiConfig.from_env(
        {
            "MNIST_UI_MODEL_SERVERS": "one=h:1,two=h:2",
            "MNIST_UI_MODEL_NAME": "digits",
            "MNIST_UI_DATA_DIR": str(tmp_path),
            "MNIST_UI_TIMEOUT_SECONDS": "2.5",
        }
    )
    assert config == UiConfig({"one": "h:1", "two": "h:2"}, "digits", tmp_path, 2.5)
    assert config.default_server == "one"


def test_defaults_are_the_contracted_model_and_the_shipped_sample() -> None:
    config = UiConfig.from_env({"MNIST_UI_MODEL_SERVERS": "h:9000"})
    assert (config.model_name, config.data_dir, config.timeout_seconds) == ("mnist", None, 10.0)


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"MNIST_UI_TIMEOUT_SECONDS": "0"}, "MNIST_UI_TIMEOUT_SECONDS"),
        ({"MNIST_UI_TIMEOUT_SECONDS": "soon"}, "MNIST_UI_TIMEOUT_SECONDS"),
        ({"MNIST_UI_DATA_DIR": "/no/such/dir"}, "MNIST_UI_DATA_DIR"),
        ({"MNIST_UI_MODEL_NAME": "../x"}, "MNIST_UI_MODEL_NAME"),
    ],
)
def test_bad_values_name_their_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        UiConfig.from_env({"MNIST_UI_MODEL_SERVERS": "h:9000", **env})
