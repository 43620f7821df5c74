"""The contracted names and shapes every part agrees on (see DESIGN.md "Contracts")."""

from typing import Final

MODEL_NAME: Final = "mnist"
SIGNATURE_NAME: Final = "serving_default"
INPUT_KEY: Final = "x"
OUTPUT_CLASSES: Final = "classes"
OUTPUT_PREDICTIONS: Final = "predictions"

IMAGE_SIDE: Final = 28
IMAGE_PIXELS: Final = IMAGE_SIDE * IMAGE_SIDE
NUM_CLASSES: Final = 10

# Ports of the original Kubeflow example, kept by every platform.
GRPC_PORT: Final = 9000
REST_PORT: Final = 8500
UI_PORT: Final = 5000

# The models the training program builds (--tf-model-type), as in the original example.
MODEL_TYPES: Final = ("cnn", "linear")
