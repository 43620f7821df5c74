"""The TF Serving and TensorFlow proto modules the project uses, by their usual names.

They are the generated modules in ``_generated/``: the same files and descriptors as
tensorflow-serving-api's and TensorFlow's, so in a process that also imports TensorFlow their
messages are the very same classes, and on the wire they are TF Serving's.
"""

from tf_serving_api._generated.tensorflow.core.framework import (
    tensor_pb2,
    tensor_shape_pb2,
    types_pb2,
)
from tf_serving_api._generated.tensorflow.core.protobuf import meta_graph_pb2, saved_model_pb2
from tf_serving_api._generated.tensorflow_serving.apis import (
    get_model_metadata_pb2,
    get_model_status_pb2,
    model_pb2,
    model_service_pb2,
    model_service_pb2_grpc,
    predict_pb2,
    prediction_service_pb2,
    prediction_service_pb2_grpc,
    status_pb2,
)

__all__ = [
    "get_model_metadata_pb2",
    "get_model_status_pb2",
    "meta_graph_pb2",
    "model_pb2",
    "model_service_pb2",
    "model_service_pb2_grpc",
    "predict_pb2",
    "prediction_service_pb2",
    "prediction_service_pb2_grpc",
    "saved_model_pb2",
    "status_pb2",
    "tensor_pb2",
    "tensor_shape_pb2",
    "types_pb2",
]
