"""KFP's metadata steps, done the way its Go client does them (backend/src/v2/metadata/client.go).

Our own Python rendering of the call sequences, not KFP's code: get-or-create of context
types and contexts, the pipeline/run link, executions, artifacts, publishing. Import it only
after ``pytest.importorskip("ml_metadata")``.
"""

from __future__ import annotations

import uuid

import grpc
from ml_metadata.proto import metadata_store_pb2 as mlmd
from ml_metadata.proto import metadata_store_service_pb2 as api

from tests.metadata_server.server_process import outcome

PIPELINE = "system.Pipeline"
PIPELINE_RUN = "system.PipelineRun"
CONTAINER_EXECUTION = "system.ContainerExecution"
DAG_EXECUTION = "system.DAGExecution"


def unique(prefix: str) -> str:
    """A name no other test on the shared server uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def text(value: str) -> mlmd.Value:
    return mlmd.Value(string_value=value)


def number(value: int) -> mlmd.Value:
    return mlmd.Value(int_value=value)


def context_type_id(stub, name: str) -> int:
    """GetContextType; on NOT_FOUND PutContextType; on ALREADY_EXISTS GetContextType again."""
    found, code, details = outcome(
        lambda: stub.GetContextType(api.GetContextTypeRequest(type_name=name))
    )
    if found is not None:
        return found.context_type.id
    assert code == grpc.StatusCode.NOT_FOUND, details
    put, code, details = outcome(
        lambda: stub.PutContextType(
            api.PutContextTypeRequest(context_type=mlmd.ContextType(name=name))
        )
    )
    if put is not None:
        return put.type_id
    assert code == grpc.StatusCode.ALREADY_EXISTS, details
    return stub.GetContextType(api.GetContextTypeRequest(type_name=name)).context_type.id


def context(stub, type_name: str, name: str, **properties: mlmd.Value) -> mlmd.Context:
    """GetContextByTypeAndName; if absent PutContexts (ALREADY_EXISTS is fine), then get it."""
    found = stub.GetContextByTypeAndName(
        api.GetContextByTypeAndNameRequest(type_name=type_name, context_name=name)
    )
    if found.HasField("context"):
        return found.context
    new = mlmd.Context(name=name, type_id=context_type_id(stub, type_name))
    for key, value in properties.items():
        new.custom_properties[key].CopyFrom(value)
    _, code, details = outcome(lambda: stub.PutContexts(api.PutContextsRequest(contexts=[new])))
    assert code in (grpc.StatusCode.OK, grpc.StatusCode.ALREADY_EXISTS), details
    return stub.GetContextByTypeAndName(
        api.GetContextByTypeAndNameRequest(type_name=type_name, context_name=name)
    ).context


def pipeline(stub, pipeline_name: str, run_id: str) -> tuple[mlmd.Context, mlmd.Context]:
    """KFP's GetPipeline: both contexts, the run a child of the pipeline (linked once)."""
    pipeline_context = context(stub, PIPELINE, pipeline_name)
    run_context = context(
        stub,
        PIPELINE_RUN,
        run_id,
        namespace=text("kubeflow"),
        pipeline_root=text(f"minio://mlpipeline/v2/artifacts/{pipeline_name}/{run_id}"),
    )
    parents = stub.GetParentContextsByContext(
        api.GetParentContextsByContextRequest(context_id=run_context.id)
    ).contexts
    if not parents:
        stub.PutParentContexts(
            api.PutParentContextsRequest(
                parent_contexts=[
                    mlmd.ParentContext(child_id=run_context.id, parent_id=pipeline_context.id)
                ]
            )
        )
    return pipeline_context, run_context


def execution_type_id(stub, name: str) -> int:
    """PutExecutionType is KFP's get-or-create for execution types: same name, same id."""
    return stub.PutExecutionType(
        api.PutExecutionTypeRequest(execution_type=mlmd.ExecutionType(name=name))
    ).type_id


def create_execution(
    stub,
    contexts: tuple[mlmd.Context, mlmd.Context],
    task: str,
    *,
    type_name: str = CONTAINER_EXECUTION,
    parent_dag_id: int = 0,
    inputs: dict[str, int] | None = None,
    name: str = "",
) -> mlmd.Execution:
    """KFP's CreateExecution: PutExecution (RUNNING, input events), then GetExecutionsByID."""
    execution = mlmd.Execution(
        type_id=execution_type_id(stub, type_name), last_known_state=mlmd.Execution.RUNNING
    )
    if name:
        execution.name = name
    execution.custom_properties["task_name"].CopyFrom(text(task))
    execution.custom_properties["display_name"].CopyFrom(text(task))
    if parent_dag_id:
        execution.custom_properties["parent_dag_id"].CopyFrom(number(parent_dag_id))
    execution.custom_properties["inputs"].struct_value.update({"train_steps": 200, "lr": 0.01})
    request = api.PutExecutionRequest(execution=execution, contexts=list(contexts))
    for input_name, artifact_id in (inputs or {}).items():
        request.artifact_event_pairs.add().event.CopyFrom(
            mlmd.Event(
                artifact_id=artifact_id,
                type=mlmd.Event.INPUT,
                path=mlmd.Event.Path(steps=[mlmd.Event.Path.Step(key=input_name)]),
            )
        )
    execution_id = stub.PutExecution(request).execution_id
    found = stub.GetExecutionsByID(api.GetExecutionsByIDRequest(execution_ids=[execution_id]))
    assert len(found.executions) == 1, found
    return found.executions[0]


def record_artifact(stub, schema_title: str, uri: str, display_name: str) -> mlmd.Artifact:
    """KFP's RecordArtifact: PutArtifactType, PutArtifacts, GetArtifactsByID."""
    type_id = stub.PutArtifactType(
        api.PutArtifactTypeRequest(artifact_type=mlmd.ArtifactType(name=schema_title))
    ).type_id
    artifact = mlmd.Artifact(type_id=type_id, uri=uri, state=mlmd.Artifact.LIVE)
    artifact.custom_properties["display_name"].CopyFrom(text(display_name))
    ids = stub.PutArtifacts(api.PutArtifactsRequest(artifacts=[artifact])).artifact_ids
    assert len(ids) == 1
    found = stub.GetArtifactsByID(api.GetArtifactsByIDRequest(artifact_ids=ids)).artifacts
    assert len(found) == 1
    return found[0]


def publish(
    stub,
    execution: mlmd.Execution,
    contexts: tuple[mlmd.Context, mlmd.Context],
    outputs: dict[str, mlmd.Artifact],
    state: int = mlmd.Execution.COMPLETE,
) -> None:
    """KFP's PublishExecution: PutExecution with the final state and OUTPUT events."""
    execution.last_known_state = state
    request = api.PutExecutionRequest(execution=execution, contexts=list(contexts))
    for output_name, artifact in outputs.items():
        request.artifact_event_pairs.add().event.CopyFrom(
            mlmd.Event(
                artifact_id=artifact.id,
                type=mlmd.Event.OUTPUT,
                path=mlmd.Event.Path(steps=[mlmd.Event.Path.Step(key=output_name)]),
            )
        )
    stub.PutExecution(request)
