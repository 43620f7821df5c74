"""The metadata server's command line: what KFP's manifests pass, parsed as metadata_store_server would.

Pure parsing, no ml-metadata needed: this module runs in every venv.
"""

from __future__ import annotations

import pytest

from metadata_server.command_line import DEFAULT_HOST, HOST_ENV, MySQL, ServerFlags, parse
from tests.metadata_server.server_process import KFP_ARGS


def failure(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Parse *argv*, which must exit 2; return what it printed on stderr."""
    with pytest.raises(SystemExit) as exited:
        parse(argv, {})
    assert exited.value.code == 2
    return capsys.readouterr().err


def test_kfp_manifest_args_select_mysql_with_upgrade():
    flags = parse(KFP_ARGS, {})
    assert flags == ServerFlags(
        port=8080,
        host=DEFAULT_HOST,
        mysql=MySQL("mysql.kubeflow.svc.cluster.local", 3306, "metadb", "root", ""),
        enable_database_upgrade=True,
        channel_arguments=(("grpc.max_metadata_size", 16384),),
    )


def test_defaults_are_metadata_store_servers():
    flags = parse([], {})
    assert (flags.port, flags.host, flags.mysql, flags.sqlite) == (8080, "0.0.0.0", None, None)
    assert not flags.enable_database_upgrade
    assert flags.connection_retries == 5
    assert "in-memory" in flags.describe_store()


@pytest.mark.parametrize(
    "argv", [["--port", "9090"], ["--port=9090"], ["--grpc_port", "9090"], ["--grpc_port=9090"]]
)
def test_port_has_both_names_and_both_spellings(argv):
    assert parse(argv, {}).port == 9090


def test_sqlite_path_and_bind_host_from_the_environment():
    flags = parse(["--sqlite", "/var/lib/mlmd/metadata.db"], {HOST_ENV: "127.0.0.1"})
    assert flags.sqlite == "/var/lib/mlmd/metadata.db"
    assert flags.host == "127.0.0.1"
    assert flags.describe_store() == "SQLite file /var/lib/mlmd/metadata.db"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--enable_database_upgrade"], True),
        (["--enable_database_upgrade=false"], False),
        (["--enable_database_upgrade=1"], True),
        (["--enable_database_upgrade", "--port=1"], True),
    ],
)
def test_boolean_flags_take_gflags_spellings(argv, expected):
    assert parse(argv, {}).enable_database_upgrade is expected


def test_the_password_stays_out_of_descriptions():
    flags = parse([*KFP_ARGS[:-2], "--mysql_config_password=s3cret"], {})
    assert "s3cret" not in flags.describe_store()
    assert "s3cret" not in repr(flags)
    assert flags.mysql is not None
    assert flags.mysql.password == "s3cret"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mysql_config_host=db"], "missing --mysql_config_port, --mysql_config_database"),
        (["--mysql_config_user=root"], "--mysql_config_user/--mysql_config_password without"),
        (["--sqlite=/x.db", *KFP_ARGS[1:4]], "--sqlite and --mysql_config_* both given"),
        (["--sqlite="], "--sqlite needs a file path"),
        (["--grpc_port=0"], "0 is not a port in 1..65535"),
        (["--grpc_port=http"], "'http' is not a port number"),
        (["--enable_database_upgrade=maybe"], "'maybe' is not a boolean"),
        (["--metadata_store_connection_retries=-1"], "-1 is negative"),
        (["--metadata_store_server_config_file=/c.pbtxt"], "unrecognized arguments"),
        (["--grpc"], "unrecognized arguments"),  # no abbreviations, as gflags
    ],
)
def test_wrong_flags_exit_2_saying_what_is_wrong_and_what_is_accepted(capsys, argv, message):
    err = failure(capsys, argv)
    assert message in err
    assert "--grpc_port (or --port), --sqlite, --mysql_config_host" in err


def test_kfp_s_grpc_channel_arguments_become_server_options():
    # KFP's metadata-grpc Deployment passes this; the real server takes it
    flags = parse(["--grpc_channel_arguments=grpc.max_metadata_size=16384"], {})
    assert flags.channel_arguments == (("grpc.max_metadata_size", 16384),)


def test_a_malformed_channel_argument_is_refused(capsys):
    with pytest.raises(SystemExit) as caught:
        parse(["--grpc_channel_arguments=max_metadata_size"], {})
    assert caught.value.code == 2
    assert "grpc.<name>=<value>" in capsys.readouterr().err
