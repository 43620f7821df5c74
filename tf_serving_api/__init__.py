"""TF Serving's client and server surface without TensorFlow: its protos and numpy ⇄ TensorProto.

``tf_serving_api.protos`` has the PredictionService and ModelService messages and stubs and the
TensorProto family they use (generated into ``_generated/`` by
``python -m ci.validate.generated_protos``); ``tf_serving_api.tensor_util`` converts arrays as
``tf.make_tensor_proto`` and ``tf.make_ndarray`` do. Importing either costs a tenth of a second,
not TensorFlow's seconds.
"""
