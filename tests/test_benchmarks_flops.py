"""FLOP counting of benchmarks.flops, by hand and on the project's real Keras models."""

import pytest

from benchmarks.flops import LayerMacs, conv2d_macs, count, count_keras, dense_macs

# The CNN of model/networks.py, worked out by hand: output positions x kernel size.
CNN_MACS = {
    "conv 1 (28x28x32, 5x5x1)": 28 * 28 * 32 * 5 * 5 * 1,  # 627,200
    "conv 2 (14x14x64, 5x5x32)": 14 * 14 * 64 * 5 * 5 * 32,  # 10,035,200
    "dense 3136 -> 1024": 7 * 7 * 64 * 1024,  # 3,211,264
    "logits 1024 -> 10": 1024 * 10,
}
LINEAR_MACS = 784 * 10


def test_conv2d_macs_are_output_positions_times_kernel():
    assert conv2d_macs((28, 28, 32), (5, 5, 1, 32)) == 627_200
    assert conv2d_macs((14, 14, 64), (5, 5, 32, 64)) == 10_035_200


def test_conv2d_rejects_a_kernel_that_does_not_fit_the_output():
    with pytest.raises(ValueError, match="output channels"):
        conv2d_macs((28, 28, 32), (5, 5, 1, 64))


def test_dense_macs_per_position():
    assert dense_macs((784, 10)) == 7840
    assert dense_macs((64, 8), positions=3) == 3 * 64 * 8


def test_forward_is_two_flops_per_mac_and_training_three_forwards():
    flops = count([LayerMacs("a", "Dense", 100), LayerMacs("b", "Conv2D", 50)])
    assert flops.macs == 150
    assert flops.forward_flops == 300
    assert flops.train_flops == 900
    assert [layer["name"] for layer in flops.as_dict()["layers"]] == ["a", "b"]


@pytest.mark.slow
def test_counts_the_real_cnn_and_linear_models():
    from model import networks

    cnn = count_keras(networks.build("cnn"))
    assert [layer.macs for layer in cnn.layers] == list(CNN_MACS.values())
    assert cnn.train_flops == 3 * 2 * sum(CNN_MACS.values())  # 83.3 MFLOP per image
    linear = count_keras(networks.build("linear"))
    assert linear.macs == LINEAR_MACS
