"""The calls KFP's driver and launcher make (backend/src/v2/metadata/client.go), on a real server.

Each test drives ``python -m metadata_server`` over a loopback socket with the wheel's own
``MetadataStoreServiceStub``, in the order KFP does: get-or-create the pipeline and run
contexts, link them, create executions, record artifacts, publish, and read the DAG back with
a filter query, page by page. The status codes are the ones KFP's Go client branches on.
"""

from __future__ import annotations

import grpc
import pytest

pytest.importorskip(
    "ml_metadata", reason="needs the ml-metadata wheel (protobuf<5): run tox -e metadata-server"
)

from ml_metadata.proto import metadata_store_pb2 as mlmd
from ml_metadata.proto import metadata_store_service_pb2 as api

from tests.metadata_server.kfp_flow import (
    CONTAINER_EXECUTION,
    DAG_EXECUTION,
    PIPELINE,
    PIPELINE_RUN,
    context_type_id,
    create_execution,
    execution_type_id,
    pipeline,
    publish,
    record_artifact,
    text,
    unique,
)
from tests.metadata_server.server_process import MetadataServer, expect_status, outcome

# -- types and contexts ----------------------------------------------------------------------


def test_unknown_context_type_is_not_found_until_put(metadata_server: MetadataServer):
    stub = metadata_server.stub
    name = unique("system.Pipeline")
    error = expect_status(
        grpc.StatusCode.NOT_FOUND,
        lambda: stub.GetContextType(api.GetContextTypeRequest(type_name=name)),
    )
    assert name in error.details()
    created = stub.PutContextType(
        api.PutContextTypeRequest(context_type=mlmd.ContextType(name=name))
    ).type_id
    again = stub.PutContextType(
        api.PutContextTypeRequest(context_type=mlmd.ContextType(name=name))
    ).type_id
    found = stub.GetContextType(api.GetContextTypeRequest(type_name=name)).context_type
    assert created == again == found.id
    assert found.name == name


def test_missing_context_by_type_and_name_is_an_empty_answer(metadata_server: MetadataServer):
    # KFP's client relies on this: no error, just no context ("Bug in MLMD ...?" in client.go).
    stub = metadata_server.stub
    context_type_id(stub, PIPELINE)
    found = stub.GetContextByTypeAndName(
        api.GetContextByTypeAndNameRequest(type_name=PIPELINE, context_name=unique("absent"))
    )
    assert not found.HasField("context")


def test_putting_the_same_context_twice_is_already_exists(metadata_server: MetadataServer):
    stub = metadata_server.stub
    type_id = context_type_id(stub, PIPELINE_RUN)
    run = mlmd.Context(name=unique("run"), type_id=type_id)
    (first,) = stub.PutContexts(api.PutContextsRequest(contexts=[run])).context_ids
    error = expect_status(
        grpc.StatusCode.ALREADY_EXISTS,
        lambda: stub.PutContexts(api.PutContextsRequest(contexts=[run])),
    )
    assert error.details()
    stored = stub.GetContextsByID(api.GetContextsByIDRequest(context_ids=[first])).contexts
    assert [c.name for c in stored] == [run.name]


def test_driver_links_the_run_to_its_pipeline_once(metadata_server: MetadataServer):
    stub = metadata_server.stub
    name, run_id = unique("mnist"), unique("run")
    pipeline_context, run_context = pipeline(stub, name, run_id)
    assert run_context.custom_properties["namespace"].string_value == "kubeflow"

    # A second driver of the same run finds the same contexts and the link already there.
    assert pipeline(stub, name, run_id) == (pipeline_context, run_context)
    parents = stub.GetParentContextsByContext(
        api.GetParentContextsByContextRequest(context_id=run_context.id)
    ).contexts
    assert [p.id for p in parents] == [pipeline_context.id]
    children = stub.GetChildrenContextsByContext(
        api.GetChildrenContextsByContextRequest(context_id=pipeline_context.id)
    ).contexts
    assert [c.id for c in children] == [run_context.id]
    # Two drivers racing both put the link; KFP ignores the loser's ALREADY_EXISTS.
    link = mlmd.ParentContext(child_id=run_context.id, parent_id=pipeline_context.id)
    expect_status(
        grpc.StatusCode.ALREADY_EXISTS,
        lambda: stub.PutParentContexts(api.PutParentContextsRequest(parent_contexts=[link])),
    )


# -- executions, artifacts, events -----------------------------------------------------------


def test_driver_creates_an_execution_in_both_contexts(metadata_server: MetadataServer):
    stub = metadata_server.stub
    contexts = pipeline(stub, unique("mnist"), unique("run"))
    name = unique("exec")
    execution = create_execution(stub, contexts, "train", name=name)

    assert execution.last_known_state == mlmd.Execution.RUNNING
    assert execution.custom_properties["task_name"].string_value == "train"
    assert dict(execution.custom_properties["inputs"].struct_value) == {
        "train_steps": 200,
        "lr": 0.01,
    }
    in_contexts = stub.GetContextsByExecution(
        api.GetContextsByExecutionRequest(execution_id=execution.id)
    ).contexts
    assert sorted(c.id for c in in_contexts) == sorted(c.id for c in contexts)
    by_name = stub.GetExecutionByTypeAndName(
        api.GetExecutionByTypeAndNameRequest(type_name=CONTAINER_EXECUTION, execution_name=name)
    ).execution
    assert by_name.id == execution.id
    # The launcher's PrePublishExecution: the same execution, updated with its pod.
    execution.custom_properties["pod_name"].CopyFrom(text("train-pod"))
    stub.PutExecution(api.PutExecutionRequest(execution=execution))
    (updated,) = stub.GetExecutionsByID(
        api.GetExecutionsByIDRequest(execution_ids=[execution.id])
    ).executions
    assert updated.custom_properties["pod_name"].string_value == "train-pod"


def test_launcher_records_outputs_and_the_next_task_finds_them(metadata_server: MetadataServer):
    stub = metadata_server.stub
    contexts = pipeline(stub, unique("mnist"), unique("run"))
    _, run_context = contexts
    train = create_execution(stub, contexts, "train")
    uri = f"minio://mlpipeline/v2/artifacts/{unique('model')}"
    model = record_artifact(stub, "system.Model", uri, "model")
    publish(stub, train, contexts, {"model": model})

    # The next task's driver: the producer's OUTPUT events name the artifact...
    events = stub.GetEventsByExecutionIDs(
        api.GetEventsByExecutionIDsRequest(execution_ids=[train.id])
    ).events
    assert [(e.artifact_id, e.type, e.path.steps[0].key) for e in events] == [
        (model.id, mlmd.Event.OUTPUT, "model")
    ]
    (done,) = stub.GetExecutionsByID(
        api.GetExecutionsByIDRequest(execution_ids=[train.id])
    ).executions
    assert done.last_known_state == mlmd.Execution.COMPLETE
    # ... and it becomes the consumer's INPUT.
    serve = create_execution(stub, contexts, "serve", inputs={"model": model.id})
    by_artifact = stub.GetEventsByArtifactIDs(
        api.GetEventsByArtifactIDsRequest(artifact_ids=[model.id])
    ).events
    assert sorted((e.execution_id, e.type) for e in by_artifact) == sorted(
        [(train.id, mlmd.Event.OUTPUT), (serve.id, mlmd.Event.INPUT)]
    )
    # PutExecution attributed the artifact to the run; the cache looks it up by URI.
    in_run = stub.GetArtifactsByContext(
        api.GetArtifactsByContextRequest(context_id=run_context.id)
    ).artifacts
    assert [a.id for a in in_run] == [model.id]
    by_uri = stub.GetArtifactsByURI(api.GetArtifactsByURIRequest(uris=[uri])).artifacts
    assert [a.id for a in by_uri] == [model.id]
    owners = stub.GetContextsByArtifact(
        api.GetContextsByArtifactRequest(artifact_id=model.id)
    ).contexts
    assert sorted(c.id for c in owners) == sorted(c.id for c in contexts)
    model_type = stub.GetArtifactType(
        api.GetArtifactTypeRequest(type_name="system.Model")
    ).artifact_type
    assert model_type.id == model.type_id


def test_executions_in_a_dag_by_filter_query_page_by_page(metadata_server: MetadataServer):
    stub = metadata_server.stub
    contexts = pipeline(stub, unique("mnist"), unique("run"))
    _, run_context = contexts
    root = create_execution(stub, contexts, "", type_name=DAG_EXECUTION)
    dag = create_execution(stub, contexts, "inner", type_name=DAG_EXECUTION, parent_dag_id=root.id)
    tasks = [
        create_execution(stub, contexts, task, parent_dag_id=dag.id)
        for task in ("train", "serve", "web-ui")
    ]
    other = create_execution(stub, contexts, "elsewhere", parent_dag_id=root.id)

    # KFP's GetExecutionsInDAG: only the DAG's own tasks, following next_page_token.
    query = f"custom_properties.parent_dag_id.int_value = {dag.id}"
    seen, token, pages = [], "", 0
    while True:
        page = stub.GetExecutionsByContext(
            api.GetExecutionsByContextRequest(
                context_id=run_context.id,
                options=mlmd.ListOperationOptions(
                    filter_query=query, max_result_size=2, next_page_token=token
                ),
            )
        )
        seen += [e.id for e in page.executions]
        pages += 1
        token = page.next_page_token
        if not token:
            break
    assert sorted(seen) == sorted(t.id for t in tasks)
    assert pages == 2
    # Without a filter the run context holds every execution of the run.
    everything = stub.GetExecutionsByContext(
        api.GetExecutionsByContextRequest(context_id=run_context.id)
    ).executions
    assert sorted(e.id for e in everything) == sorted(e.id for e in (root, dag, *tasks, other))
    # The same filter on GetExecutions, across all contexts.
    filtered = stub.GetExecutions(
        api.GetExecutionsRequest(options=mlmd.ListOperationOptions(filter_query=query))
    ).executions
    assert sorted(e.id for e in filtered) == sorted(t.id for t in tasks)


def test_attributions_and_associations(metadata_server: MetadataServer):
    stub = metadata_server.stub
    _, run_context = pipeline(stub, unique("mnist"), unique("run"))
    execution_id = stub.PutExecution(
        api.PutExecutionRequest(
            execution=mlmd.Execution(type_id=execution_type_id(stub, CONTAINER_EXECUTION))
        )
    ).execution_id
    artifact = record_artifact(stub, "system.Dataset", f"file:///{unique('data')}", "data")
    request = api.PutAttributionsAndAssociationsRequest(
        attributions=[mlmd.Attribution(artifact_id=artifact.id, context_id=run_context.id)],
        associations=[mlmd.Association(execution_id=execution_id, context_id=run_context.id)],
    )
    stub.PutAttributionsAndAssociations(request)
    stub.PutAttributionsAndAssociations(request)  # a repeat is a no-op, not an error

    artifacts = stub.GetArtifactsByContext(
        api.GetArtifactsByContextRequest(context_id=run_context.id)
    ).artifacts
    executions = stub.GetExecutionsByContext(
        api.GetExecutionsByContextRequest(context_id=run_context.id)
    ).executions
    assert [a.id for a in artifacts] == [artifact.id]
    assert [e.id for e in executions] == [execution_id]


# -- errors ----------------------------------------------------------------------------------


def test_an_unknown_type_id_is_not_found(metadata_server: MetadataServer):
    stub = metadata_server.stub
    error = expect_status(
        grpc.StatusCode.NOT_FOUND,
        lambda: stub.PutExecution(
            api.PutExecutionRequest(execution=mlmd.Execution(type_id=987654321))
        ),
    )
    assert "987654321" in error.details()
    expect_status(
        grpc.StatusCode.NOT_FOUND,
        lambda: stub.GetExecutionType(api.GetExecutionTypeRequest(type_name=unique("absent"))),
    )


def test_a_wrong_request_is_invalid_argument(metadata_server: MetadataServer):
    stub = metadata_server.stub
    error = expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda: stub.PutArtifacts(api.PutArtifactsRequest(artifacts=[mlmd.Artifact(uri="x")])),
    )
    assert "type" in error.details().lower()
    # Bytes that are no protobuf message reach the C++ store, which refuses to parse them.
    error = expect_status(
        grpc.StatusCode.INVALID_ARGUMENT,
        lambda: metadata_server.raw("GetArtifacts", b"\xff\xff\xff"),
    )
    assert "parse" in error.details()


def test_every_service_method_is_served(metadata_server: MetadataServer):
    from metadata_server.service import method_names, unsupported_methods

    unbound = set(unsupported_methods())
    assert unbound == {
        "GetParentContextsByContexts",
        "GetChildrenContextsByContexts",
        "GetLineageGraph",
    }
    assert len(method_names()) == len(
        api.DESCRIPTOR.services_by_name["MetadataStoreService"].methods
    )
    for method in method_names():
        # An empty request reaches the store and changes nothing.
        _, code, details = outcome(lambda method=method: metadata_server.raw(method, b""))
        if method in unbound:
            assert code == grpc.StatusCode.UNIMPLEMENTED, (method, code, details)
            assert method in details
        else:
            assert code != grpc.StatusCode.UNIMPLEMENTED, (method, details)


def test_the_wheels_python_client_talks_to_it(metadata_server: MetadataServer):
    # KFP's metadata writer (and TFX) use this client; its errors come from our status codes.
    from ml_metadata import errors
    from ml_metadata.metadata_store import MetadataStore

    store = MetadataStore(
        mlmd.MetadataStoreClientConfig(host="127.0.0.1", port=metadata_server.port)
    )
    name = unique("system.Metrics")
    type_id = store.put_artifact_type(mlmd.ArtifactType(name=name))
    (artifact_id,) = store.put_artifacts([mlmd.Artifact(type_id=type_id, uri="file:///m")])
    assert [a.uri for a in store.get_artifacts_by_id([artifact_id])] == ["file:///m"]
    with pytest.raises(errors.NotFoundError):
        store.get_artifact_type(unique("absent"))
