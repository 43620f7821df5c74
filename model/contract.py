"""The contracted names and shapes every part agrees on (see DESIGN.md "Contracts").

The export answers the original Kubeflow example's two clients unchanged
(docs/wire-compatibility.md): its command-line client sends ``x`` as [1, 28, 28], its web UI
as [1, 784] and reads ``classes`` from ``int_val`` — so ``x`` is declared with no fixed rank
and checked inside the model, ``classes`` is uint8 (TensorFlow keeps uint8 in ``int_val``, as
the original's cast did), and the original's second signature, ``classes``, is exported too.
"""

from typing import Final

MODEL_NAME: Final = "mnist"
SIGNATURE_NAME: Final = "serving_default"
# The original export's second Predict signature: the same inputs and outputs.
CLASSES_SIGNATURE: Final = "classes"
SIGNATURES: Final = (SIGNATURE_NAME, CLASSES_SIGNATURE)
INPUT_KEY: Final = "x"
OUTPUT_CLASSES: Final = "classes"
OUTPUT_PREDICTIONS: Final = "predictions"

IMAGE_SIDE: Final = 28
IMAGE_PIXELS: Final = IMAGE_SIDE * IMAGE_SIDE
NUM_CLASSES: Final = 10
# The shapes of one image ``x`` may carry after its batch dimension: flat, or the original's
# 28x28. Any other shape is INVALID_ARGUMENT, from the model itself (so TF Serving and the
# embedded server refuse it alike).
IMAGE_SHAPES: Final = ((IMAGE_PIXELS,), (IMAGE_SIDE, IMAGE_SIDE))

# Ports of the original Kubeflow example, kept by every platform.
GRPC_PORT: Final = 9000
REST_PORT: Final = 8500
UI_PORT: Final = 5000

# The URI scheme of a GCS location (model/gcs.py reads and writes there).
GS_SCHEME: Final = "gs://"

# The environment the web UI is configured by (web_ui/settings.py reads it; the platforms and
# the deploy steps set it), and the model server's bind address (serving/flags.py).
UI_SERVERS_ENV: Final = "MNIST_UI_MODEL_SERVERS"
UI_MODEL_NAME_ENV: Final = "MNIST_UI_MODEL_NAME"
UI_DATA_DIR_ENV: Final = "MNIST_UI_DATA_DIR"
UI_TIMEOUT_ENV: Final = "MNIST_UI_TIMEOUT_SECONDS"
SERVING_HOST_ENV: Final = "MNIST_SERVING_HOST"

# The models the training program builds (--tf-model-type), as in the original example.
MODEL_TYPES: Final = ("cnn", "linear")
