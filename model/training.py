"""The TensorFlow side of training: input pipeline, optimizer, train step, accuracy, checkpoint.

The train step is a small custom loop (``tf.function`` + ``strategy.run``) rather than
``Model.fit``: Keras 3's ``fit`` and ``evaluate`` fail under MultiWorkerMirroredStrategy
(keras-team/keras#20585, "Attempt to convert a value (PerReplica…) to a Tensor"), and the loop
runs the same computation one-worker or many. It also measured steadier here: the CNN's 200
steps took 5.7-6.2 s every time, where ``fit`` took either 5.8 s or 10.6 s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Final

import keras
import numpy as np
import tensorflow as tf

# Big batches evaluate fastest; 1,000 keeps the CNN's activations near 100 MB.
EVAL_BATCH: Final = 1000


def seed_everything(seed: int) -> None:
    """Same seed, same data, same flags → the same weights and accuracy, run after run."""
    keras.utils.set_random_seed(seed)  # Python, NumPy, TensorFlow and Keras' own generators
    tf.config.experimental.enable_op_determinism()  # measured: no slower on this CPU


def train_dataset(
    images: np.ndarray, labels: np.ndarray, batch_size: int, seed: int, steps: int | None = None
) -> tf.data.Dataset:
    """Shuffled (seeded) repeated batches, *steps* of them (None: endless); the next batch is
    prepared meanwhile.

    A known number of steps ends the dataset with the last one: an endless one keeps its
    background threads preparing batches nobody takes, through evaluation and export, and
    then its iterator took from a fraction of a second to 20 s to delete (measured: the train
    step stalled there, after the export, before its outputs were written).

    tf.data's autotuning is off, with one batch prefetched: its optimisation thread sleeps
    for a period that doubles as training goes on (about 20 s by the end), and deleting the
    finished iterator waited for that sleep to end. Measured on 2 cores: 5 of 18 runs stood
    idle for about 18 s as ``train()`` returned (same CPU seconds, 15-20 s more wall time);
    with autotuning off, none of 8, at the same ~8.5 steps/s and the same accuracy.
    """
    dataset = (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .shuffle(len(labels), seed=seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(batch_size, drop_remainder=True)
    )
    if steps is not None:
        dataset = dataset.take(steps)  # the same first batches: the same weights
    dataset = dataset.prefetch(1)
    # In-memory data has no files to shard by: each worker takes its share of every batch.
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return dataset.with_options(options)


def make_optimizer(model_type: str, learning_rate: float) -> keras.optimizers.Optimizer:
    """The optimizer that trains *model_type* reliably at the contracted default rate, 0.01.

    Measured on the sample at 200 steps over four seeds: the CNN with Adam at 0.01 diverged
    twice (accuracy 0.09) while SGD with momentum 0.9 gave 0.953-0.961 every time (plain SGD,
    the original example's, 0.79); the convex linear model gets 0.903-0.907 from Adam and
    0.846-0.869 from SGD with momentum.
    """
    if model_type == "cnn":
        return keras.optimizers.SGD(learning_rate, momentum=0.9)
    return keras.optimizers.Adam(learning_rate)


def make_train_step(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    strategy: tf.distribute.Strategy,
    global_batch_size: int,
) -> Callable[[Iterator[tuple[tf.Tensor, tf.Tensor]]], tf.Tensor]:
    """A function that trains on the next batch of an iterator and returns the mean loss."""
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction=None)

    def replica_step(images: tf.Tensor, labels: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            per_example = loss_fn(labels, model(images, training=True))
            # Averaged over the global batch, so the sum over replicas is the batch's mean.
            loss = tf.nn.compute_average_loss(per_example, global_batch_size=global_batch_size)
        gradients = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
        return loss

    # Traced once, no XLA (jit_compile): compiling took longer than these few steps run here.
    @tf.function
    def train_step(iterator: Iterator[tuple[tf.Tensor, tf.Tensor]]) -> tf.Tensor:
        per_replica = strategy.run(replica_step, args=next(iterator))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

    return train_step


def accuracy(model: keras.Model, images: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of *images* whose most likely class is their label.

    Every worker holds the same weights, so each evaluates locally on the whole test set.
    """
    correct = 0
    for start in range(0, len(labels), EVAL_BATCH):
        logits = model(images[start : start + EVAL_BATCH], training=False)
        correct += int(np.sum(np.argmax(logits, axis=1) == labels[start : start + EVAL_BATCH]))
    return correct / len(labels)


def save_checkpoint(
    model: keras.Model, optimizer: keras.optimizers.Optimizer, model_dir: Path, step: int
) -> Path:
    """Checkpoint the weights and optimizer state in TensorFlow's format; return its prefix."""
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    manager = tf.train.CheckpointManager(checkpoint, str(model_dir), max_to_keep=1)
    return Path(manager.save(checkpoint_number=step))
