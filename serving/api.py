"""What each TF Serving call does — Predict, GetModelMetadata, GetModelStatus — for any transport.

The gRPC servicers and the REST handler both call these, so the two APIs cannot drift apart.
Each function takes the request proto and returns the response proto, or raises
:class:`~serving.status_errors.ServingError` with the status and text TF Serving uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Final

import grpc
import numpy as np

from serving import memory, tensors
from serving.limits import DEFAULT_LIMITS, RequestLimits
from serving.manager import ModelManager
from serving.status_errors import ServingError, invalid_argument
from tf_serving_api.protos import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    meta_graph_pb2,
    model_pb2,
    predict_pb2,
    status_pb2,
)

if TYPE_CHECKING:
    from serving.servable import Servable  # TensorFlow: the poll thread imports it, not requests

# TensorFlow's kDefaultServingSignatureDefKey: what an empty signature_name means.
DEFAULT_SIGNATURE: Final = "serving_default"
SIGNATURE_DEF_FIELD: Final = "signature_def"


def spec_version(spec: model_pb2.ModelSpec) -> int | None:
    """The pinned version of *spec*, or None for "latest"."""
    return spec.version.value if spec.HasField("version") else None


def resolve(manager: ModelManager, spec: model_pb2.ModelSpec) -> Servable:
    """The servable *spec* names (model name, version or label)."""
    return manager.resolve(spec.name, spec_version(spec), spec.version_label)


def signature(servable: Servable, name: str) -> tuple[str, meta_graph_pb2.SignatureDef]:
    """The signature key (empty → ``serving_default``) and its SignatureDef."""
    key = name or DEFAULT_SIGNATURE
    if key not in servable.functions:
        raise ServingError(
            grpc.StatusCode.FAILED_PRECONDITION, f'Serving signature key "{key}" not found.'
        )
    return key, servable.signature_defs[key]


def output_names(
    output_filter: Sequence[str], signature_def: meta_graph_pb2.SignatureDef
) -> list[str]:
    """The outputs to return: *output_filter* if given (checked), else all of them."""
    seen: set[str] = set()
    for alias in output_filter:
        if alias not in signature_def.outputs:
            raise invalid_argument(
                f"output tensor alias not found in signature: {alias} Outputs expected to be"
                f" in the set {{{','.join(sorted(signature_def.outputs))}}}."
            )
        if alias in seen:
            raise invalid_argument(f"duplicate output tensor alias: {alias}")
        seen.add(alias)
    return list(output_filter) or sorted(signature_def.outputs)


# Turns a request's inputs into checked arrays, given the signature and its key.
Converter = Callable[[meta_graph_pb2.SignatureDef, str], dict[str, np.ndarray]]


def run(
    manager: ModelManager,
    spec: model_pb2.ModelSpec,
    convert: Converter,
    output_filter: Sequence[str] = (),
) -> tuple[Servable, str, dict[str, np.ndarray]]:
    """Resolve *spec*, convert and check the inputs, run; return the servable, key, outputs."""
    servable = resolve(manager, spec)
    key, signature_def = signature(servable, spec.signature_name)
    arrays = convert(signature_def, key)
    wanted = output_names(output_filter, signature_def)
    size = sum(array.nbytes for array in arrays.values())
    try:
        return servable, key, servable.run(key, arrays, wanted)
    finally:
        del arrays  # the model's activations are freed by now; free the inputs too, then trim
        memory.release_after(size)


def predict(
    manager: ModelManager,
    request: predict_pb2.PredictRequest,
    limits: RequestLimits = DEFAULT_LIMITS,
) -> predict_pb2.PredictResponse:
    """PredictionService.Predict."""
    if not request.HasField("model_spec"):
        raise invalid_argument("Missing ModelSpec")
    servable, key, results = run(
        manager,
        request.model_spec,
        lambda signature_def, key: tensors.request_arrays(
            request.inputs, signature_def, key, limits
        ),
        request.output_filter,
    )
    response = predict_pb2.PredictResponse()
    response.model_spec.name = request.model_spec.name
    response.model_spec.version.value = servable.version
    response.model_spec.signature_name = key
    for name, array in results.items():
        response.outputs[name].CopyFrom(tensors.output_proto(array))
    return response


def model_metadata(
    manager: ModelManager, request: get_model_metadata_pb2.GetModelMetadataRequest
) -> get_model_metadata_pb2.GetModelMetadataResponse:
    """PredictionService.GetModelMetadata: the SignatureDef map, packed as TF Serving packs it."""
    if not request.HasField("model_spec"):
        raise invalid_argument("Missing ModelSpec")
    if not request.metadata_field:
        raise invalid_argument("GetModelMetadataRequest must specify at least one metadata_field")
    for field in request.metadata_field:
        if field != SIGNATURE_DEF_FIELD:
            raise invalid_argument(f"Metadata field {field} is not supported")
    servable = resolve(manager, request.model_spec)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    for key, signature_def in servable.signature_defs.items():
        signature_map.signature_def[key].CopyFrom(signature_def)
    response = get_model_metadata_pb2.GetModelMetadataResponse()
    response.model_spec.name = servable.name
    response.model_spec.version.value = servable.version
    response.metadata[SIGNATURE_DEF_FIELD].Pack(signature_map)
    return response


def model_status(
    manager: ModelManager, request: get_model_status_pb2.GetModelStatusRequest
) -> get_model_status_pb2.GetModelStatusResponse:
    """ModelService.GetModelStatus: each version seen and its state."""
    if not request.HasField("model_spec"):
        raise invalid_argument("Missing ModelSpec")
    response = get_model_status_pb2.GetModelStatusResponse()
    for status in manager.statuses(request.model_spec.name, spec_version(request.model_spec)):
        response.model_version_status.add(
            version=status.version,
            state=get_model_status_pb2.ModelVersionStatus.State.Value(status.state),
            status=status_pb2.StatusProto(
                error_code=status.code.value[0], error_message=status.error
            ),
        )
    return response
