"""The store wrapper and the status mapping, in-process, over the wheel's real C++ store."""

from __future__ import annotations

import grpc
import pytest

pytest.importorskip(
    "ml_metadata", reason="needs the ml-metadata wheel (protobuf<5): run tox -e metadata-server"
)

from ml_metadata.proto import metadata_store_pb2 as mlmd
from ml_metadata.proto import metadata_store_service_pb2 as api

from metadata_server.command_line import parse
from metadata_server.service import status_code
from metadata_server.store import Store, StoreError, StoreOpenError, connection_config
from tests.metadata_server.server_process import KFP_ARGS


def test_kfp_flags_build_the_mysql_connection_config_metadata_store_server_builds():
    config = connection_config(parse(KFP_ARGS, {}))
    assert config.WhichOneof("config") == "mysql"
    assert (config.mysql.host, config.mysql.port, config.mysql.database) == (
        "mysql.kubeflow.svc.cluster.local",
        3306,
        "metadb",
    )
    assert (config.mysql.user, config.mysql.password) == ("root", "")


def test_sqlite_opens_or_creates_the_file(tmp_path):
    config = connection_config(parse(["--sqlite", str(tmp_path / "m.db")], {}))
    assert config.sqlite.filename_uri == str(tmp_path / "m.db")
    assert config.sqlite.connection_mode == mlmd.SqliteMetadataSourceConfig.READWRITE_OPENCREATE


def test_no_database_flag_is_the_fake_database():
    assert connection_config(parse([], {})).WhichOneof("config") == "fake_database"


def test_calls_run_on_serialized_requests_and_errors_carry_the_store_status():
    store = Store.open(parse([], {}))
    request = api.PutContextTypeRequest(context_type=mlmd.ContextType(name="system.Pipeline"))
    response = api.PutContextTypeResponse.FromString(
        store.call("PutContextType", request.SerializeToString())
    )
    assert response.type_id > 0

    with pytest.raises(StoreError) as caught:
        store.call(
            "GetContextType", api.GetContextTypeRequest(type_name="absent").SerializeToString()
        )
    assert status_code(caught.value.code) == grpc.StatusCode.NOT_FOUND
    assert "absent" in caught.value.message

    store.close()
    with pytest.raises(StoreError) as caught:
        store.call("GetContextTypes", b"")
    assert status_code(caught.value.code) == grpc.StatusCode.UNAVAILABLE


def test_open_names_the_database_and_the_stores_reason(tmp_path):
    missing = tmp_path / "absent" / "m.db"
    with pytest.raises(
        StoreOpenError, match=f"cannot open SQLite file {missing}: .*unable to open"
    ):
        Store.open(parse(["--sqlite", str(missing)], {}))


@pytest.mark.parametrize(
    ("number", "status"),
    [
        (3, grpc.StatusCode.INVALID_ARGUMENT),
        (5, grpc.StatusCode.NOT_FOUND),
        (6, grpc.StatusCode.ALREADY_EXISTS),
        (9, grpc.StatusCode.FAILED_PRECONDITION),
        (10, grpc.StatusCode.ABORTED),
        (13, grpc.StatusCode.INTERNAL),
        (14, grpc.StatusCode.UNAVAILABLE),
        (99, grpc.StatusCode.UNKNOWN),
    ],
)
def test_absl_status_numbers_map_to_the_grpc_status_of_the_same_name(number, status):
    assert status_code(number) == status
