"""tf.distribute strategies for training: one device, the devices of one machine, or several machines.

    strategy = build_strategy("mirrored")
    with strategy.scope():
        model = build_model(config, class_names)
        synchronize_batch_norm(model)
        model.compile(...)
    model.fit(dataset)  # Keras splits each global batch over the replicas

`MethodModel.train_step` divides its loss by the number of replicas, because
the replicas' gradients are summed: the update is then the one a single
device would make on the global batch.

Keras 3 (3.15) `fit` fails under `MultiWorkerMirroredStrategy` (keras-team/keras#20585)
in two places; `MultiWorkerFitMixin` works around both for our models:
1. before the first epoch it averages a *data* batch over the workers
   (`strategy.reduce("MEAN", batch)`, eagerly) only to learn its shapes, which
   raises `ValueError: Attempt to convert a value (PerReplica:{...}) with an
   unsupported type ... to a Tensor`: the mixin builds from this worker's share instead;
2. it averages the step's logs with `strategy.reduce("MEAN", value, axis=0)`,
   which fails on scalars (`Invalid reduction dimension 0 for input with 0
   dimensions`): under a multi-worker strategy the mixin's logs have shape (1,),
   and the reduction averages them over the replicas back to scalars.
"""

import tensorflow as tf

DISTRIBUTIONS = ("none", "mirrored", "multi_worker")


def scale_for_replicas(loss):
    """The per-replica mean loss divided by the number of replicas in sync (unchanged on one device).

    The replicas' gradients are summed, so each must contribute its share of
    the global mean; Keras scales its own compiled losses so, not hand-written ones.
    """
    replicas = tf.distribute.get_strategy().num_replicas_in_sync
    return loss / replicas if replicas > 1 else loss


def replica_results(metrics):
    """`{name: result}` of Keras mean metrics over the examples of every replica, in a replica context.

    Each replica's metric holds its own share's total and count; the totals and
    the counts are summed over the replicas before dividing, so a replica with
    an uneven (or empty) share weighs by its examples, and every replica logs the
    same values. On one device, the metrics' own results.
    """
    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return {metric.name: metric.result() for metric in metrics}
    # tf.identity: this replica's own value of each (sync-on-read) metric variable, as a tensor.
    totals = context.all_reduce("SUM", [tf.identity(metric.total) for metric in metrics])
    counts = context.all_reduce("SUM", [tf.identity(metric.count) for metric in metrics])
    return {metric.name: tf.math.divide_no_nan(total, count) for metric, total, count in zip(metrics, totals, counts)}


def in_multi_worker_mode(strategy=None):
    """Whether `strategy` (default: the current one) spans several worker processes."""
    strategy = strategy or tf.distribute.get_strategy()
    extended = getattr(strategy, "extended", None)
    in_mode = getattr(extended, "_in_multi_worker_mode", None)
    return isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) and bool(in_mode and in_mode())


class MultiWorkerFitMixin:
    """Lets a Keras 3 model with a custom `train_step` run `fit` under `MultiWorkerMirroredStrategy`.

    Put it before `keras.Model` in the bases and pass the step's logs through
    `self.logs_for_replicas`. See the module docstring for the two failures
    it avoids; both are no-ops on one device and under `MirroredStrategy`.
    """

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = getattr(self, "_distribute_strategy", None)
        if iterator is None or strategy is None or not in_multi_worker_mode(strategy):
            return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)
        for _, _, batches in iterator:
            data_batch = tf.nest.map_structure(
                lambda value: (
                    strategy.experimental_local_results(value)[0]
                    if isinstance(value, tf.distribute.DistributedValues)
                    else value
                ),
                next(batches),
            )
            break
        return super()._maybe_symbolic_build(data_batch=data_batch)

    def logs_for_replicas(self, logs):
        if not in_multi_worker_mode():
            return logs
        return {name: tf.reshape(value, (1,)) for name, value in logs.items()}


def split_cpu(count):
    """Splits the first CPU into `count` logical devices (to test mirrored training without GPUs).

    Must run before TensorFlow initialises its devices (before any op runs).
    """
    if count <= 1:
        return
    cpus = tf.config.list_physical_devices("CPU")
    tf.config.set_logical_device_configuration(cpus[0], [tf.config.LogicalDeviceConfiguration()] * count)


def build_strategy(name):
    """The strategy `--config.distribution` names.

    - "none": TensorFlow's default strategy (one device).
    - "mirrored": `MirroredStrategy` over this machine's GPUs, or over its
      logical CPU devices when it has no GPU (see `split_cpu`).
    - "multi_worker": `MultiWorkerMirroredStrategy`, configured by `TF_CONFIG`.
    """
    if name not in DISTRIBUTIONS:
        raise ValueError(f"--config.distribution must be one of {DISTRIBUTIONS}. Received: {name!r}")
    if name == "none":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        devices = [device.name for device in tf.config.list_logical_devices("GPU")]
        if not devices:
            devices = [device.name for device in tf.config.list_logical_devices("CPU")]
        return tf.distribute.MirroredStrategy(devices)
    return tf.distribute.MultiWorkerMirroredStrategy()


def synchronize_batch_norm(model):
    """Makes every BatchNormalization layer average its batch statistics over the replicas.

    Without it each replica normalises with the statistics of its share of
    the batch, and training differs from one device on the global batch.
    Returns the number of layers changed.
    """
    import keras

    layers = [layer for layer in _all_layers(model) if isinstance(layer, keras.layers.BatchNormalization)]
    for layer in layers:
        layer.synchronized = True
    return len(layers)


def _all_layers(layer):
    yield layer
    for child in getattr(layer, "layers", None) or []:
        yield from _all_layers(child)
