"""serving.flags: tensorflow_model_server's flags, both spellings, bad values rejected at parse."""

from __future__ import annotations

import pytest

from fixtures.platforms.local_servers import model_server_argv
from serving.flags import DEFAULT_HOST, HOST_ENV, ServerFlags, parse

BASE = "/models/mnist"


def test_both_spellings_give_the_same_flags() -> None:
    equals = parse(
        [
            "--port=9000",
            "--rest_api_port=8500",
            "--model_name=mnist",
            f"--model_base_path={BASE}",
            "--file_system_poll_wait_seconds=1",
        ],
        {},
    )
    spaced = parse(
        [
            "--port",
            "9000",
            "--rest_api_port",
            "8500",
            "--model_name",
            "mnist",
            "--model_base_path",
            BASE,
            "--file_system_poll_wait_seconds",
            "1",
        ],
        {},
    )
    assert equals == spaced == ServerFlags(9000, 8500, "mnist", BASE, 1.0, DEFAULT_HOST)


def test_defaults_are_tf_servings() -> None:
    flags = parse([f"--model_base_path={BASE}"], {})
    assert (flags.port, flags.rest_api_port, flags.model_name) == (8500, 0, "default")
    assert flags.file_system_poll_wait_seconds == 1.0
    assert flags.host == "0.0.0.0"


def test_the_local_platforms_command_line_parses() -> None:
    """The argv the harness builds for either binary is accepted as is."""
    argv = model_server_argv("gs://bucket/export", grpc_port=9000, rest_port=8500)
    flags = parse(argv[argv.index("serving") + 1 :], {HOST_ENV: "127.0.0.1"})
    assert flags == ServerFlags(9000, 8500, "mnist", "gs://bucket/export", 1.0, "127.0.0.1")


def test_fractional_poll_interval_is_accepted() -> None:
    flags = parse([f"--model_base_path={BASE}", "--file_system_poll_wait_seconds=0.2"], {})
    assert flags.file_system_poll_wait_seconds == pytest.approx(0.2)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--model_base_path=/m", "--host=127.0.0.1"], "unrecognized arguments: --host"),
        (["--model_base_path=/m", "--model_nam=mnist"], "unrecognized arguments: --model_nam"),
        (["--model_base=/m"], "unrecognized arguments: --model_base"),  # no abbreviations
        ([], "--model_base_path is required"),
        (["--model_base_path=/m", "--port=70000"], "70000 is not a port in 0..65535"),
        (["--model_base_path=/m", "--port=nine"], "'nine' is not a port number"),
        (["--model_base_path=/m", "--port=9000", "--rest_api_port=9000"], "same as --port"),
        (["--model_base_path=/m", "--model_name="], "--model_name must not be empty"),
        (["--model_base_path=/m", "--file_system_poll_wait_seconds=-1"], "'-1' is not allowed"),
        (["--model_base_path=/m", "--file_system_poll_wait_seconds=nan"], "'nan' is not allowed"),
        (["--model_base_path=/m", "--max_request_rows=0"], "0 is not allowed; give 1 or more rows"),
        (["--model_base_path=/m", "--max_request_bytes=64MiB"], "'64MiB' is not a whole number of bytes"),
        (["--model_base_path=/m", "--rest_api_num_threads=-1"], "-1 is not allowed; give 1 or more threads"),
    ],
)  # fmt: skip
def test_bad_command_lines_exit_2_naming_the_problem(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(argv, {})
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert "tensorflow_model_server's flags" in err


def test_bind_host_comes_from_the_environment() -> None:
    assert parse([f"--model_base_path={BASE}"], {HOST_ENV: "127.0.0.1"}).host == "127.0.0.1"
    assert parse([f"--model_base_path={BASE}"], {HOST_ENV: ""}).host == DEFAULT_HOST


def test_request_limits_default_to_the_whole_test_set_and_64_mib() -> None:
    from serving.limits import RequestLimits

    flags = parse([f"--model_base_path={BASE}"], {})
    assert flags.limits == RequestLimits(max_rows=10_000, max_bytes=64 * 1024 * 1024)
    assert flags.rest_api_num_threads == 0  # TF Serving's default: four per CPU
    flags = parse(
        [f"--model_base_path={BASE}", "--max_request_rows", "5", "--max_request_bytes=4096",
         "--rest_api_num_threads=2"],
        {},
    )  # fmt: skip
    assert (flags.limits, flags.rest_api_num_threads) == (RequestLimits(5, 4096), 2)
