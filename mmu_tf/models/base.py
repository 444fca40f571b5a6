"""What every model of this package shares, Max-Min and the baselines alike: outputs, the training step, logs."""

import keras
import tensorflow as tf

from mmu_tf.distribution import MultiWorkerFitMixin, replica_results, scale_for_replicas
from mmu_tf.layers.wildcat_head import WILDCAT_KEYS
from mmu_tf.models.backbones import backbone_from_config, imagenet_normalization, with_backbone_deserialized


class MethodModel(MultiWorkerFitMixin, keras.Model):
    """A classifier of histology images that also returns a foreground mask.

    Takes float RGB images in [0, 1] (the ImageNet normalisation is inside)
    and returns at least `{"probabilities": (B, K), "mask": (B, H, W)}`, so
    evaluation, export and inference serve every method alike.

    What a training run needs to know of a method, the method says itself:
    `selection_metric` (the validation log that selects its checkpoint),
    `needs_masks` (whether its training batches carry the true masks: only the
    fully supervised U-Net) and `training_callbacks(method_config)` (the
    schedules it runs between epochs: Max-Min's t and sigma). How a run's
    config builds it: `from_run_config(config, class_names, name)`, and what in
    that config it refuses: `config_problems(config, mode)` (the registry,
    `mmu_tf.models.registry`, maps `--config.method.name` to the class).

    Training: one `train_step` and one `test_step` for every method, over the
    method's `compute_losses(images, labels, masks, training)`, which returns
    `(loss, terms, scores)`: the scalar float32 loss, the batch means of the
    terms it logs (names in `loss_terms`; a term a configuration leaves out is
    simply absent) and the class logits scored by each accuracy metric (names in
    `accuracy_metrics`). Hooks: `adjust_gradients` (Max-Min's head learning
    rate) and `step_logs` (values logged beside the metrics: Max-Min's t, sigma).

    Args:
        backbone: a Keras model mapping images to features (B, h, w, C).
        num_classes: int, K.
        class_names: optional K names, kept for deployment.
    """

    selection_metric = "val_accuracy"
    needs_masks = False
    loss_terms = ()
    accuracy_metrics = ("accuracy",)

    def __init__(self, backbone, num_classes, class_names=None, **kwargs):
        super().__init__(**kwargs)
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"`class_names` must have {num_classes} names. Received: {list(class_names)}")
        self.backbone = backbone
        self.num_classes = int(num_classes)
        self.class_names = list(class_names) if class_names is not None else None
        self.normalization = imagenet_normalization()
        self.loss_tracker = keras.metrics.Mean(name="loss")
        self.term_trackers = {name: keras.metrics.Mean(name=name) for name in self.loss_terms}
        self.accuracy_trackers = {
            name: keras.metrics.SparseCategoricalAccuracy(name=name) for name in self.accuracy_metrics
        }

    # === Built from a run's config ===

    @classmethod
    def from_run_config(cls, config, class_names, name):
        """The model a run's whole `config` asks for as method `name` (a registered name of this class).

        The backbone of `config.model` and the classes, plus the method's own
        settings (`run_arguments`); a method built otherwise overrides this.
        """
        return cls(
            backbone_from_config(config.model),
            num_classes=len(class_names),
            class_names=list(class_names),
            **cls.run_arguments(config, name),
        )

    @classmethod
    def run_arguments(cls, config, name):
        """This method's constructor arguments from a run's `config`, beyond the backbone and classes; none here."""
        del config, name
        return {}

    @classmethod
    def config_problems(cls, config, mode):
        """One line per setting of `config` this method cannot run with (`mode`: train | evaluate | build)."""
        del config, mode
        return []

    def class_model(self):
        """The model whose probabilities are the class this one returns: itself (a refined model: its teacher's)."""
        return self

    # === Training ===

    def compute_losses(self, images, labels, masks=None, training=False):
        """`(loss, terms, scores)` of a batch (see the class docstring); each method writes its own."""
        raise NotImplementedError

    def adjust_gradients(self, gradients):
        """The gradients (in `trainable_variables` order) the optimizer applies; as computed by default."""
        return gradients

    def step_logs(self):
        """Values logged after each training step beside the metrics (scalars); none by default."""
        return {}

    @property
    def metrics(self):
        return [self.loss_tracker, *self.term_trackers.values(), *self.accuracy_trackers.values()]

    def _update_metrics(self, labels, loss, terms, scores, weight=None):
        """Updates the metrics with a batch (counted `weight` times: 0 or 1) and returns the logs."""
        self.loss_tracker.update_state(loss, sample_weight=weight)
        for name, value in terms.items():
            self.term_trackers[name].update_state(value, sample_weight=weight)
        for name, tracker in self.accuracy_trackers.items():
            tracker.update_state(labels, scores[name], sample_weight=weight)
        updated = [self.loss_tracker, *(self.term_trackers[name] for name in terms), *self.accuracy_trackers.values()]
        return replica_results(updated)

    def train_step(self, data):
        images, labels = data[0], data[1]
        masks = data[2] if len(data) > 2 else None
        with tf.GradientTape() as tape:
            loss, terms, scores = self.compute_losses(images, labels, masks, training=True)
            scaled_loss = self.optimizer.scale_loss(scale_for_replicas(loss))
        gradients = self.adjust_gradients(tape.gradient(scaled_loss, self.trainable_variables))
        self.optimizer.apply(gradients, self.trainable_variables)
        logs = self._update_metrics(labels, loss, terms, scores)
        return self.logs_for_replicas({**logs, **self.step_logs()})

    def test_step(self, data):
        images, labels = data[0], data[1]
        masks = data[2] if len(data) > 2 else None
        # tf.distribute hands a replica whose share of an uneven split has run out an empty batch
        # (the replicas step together). No kernel sees it (oneDNN's batch norm mis-shapes a
        # zero-sized tensor): one blank image stands in, and the metrics count it 0 times.
        present = tf.shape(images)[0] > 0
        images, labels, masks = _blank_if_empty(images, labels, masks)
        loss, terms, scores = self.compute_losses(images, labels, masks, training=False)
        return self.logs_for_replicas(
            self._update_metrics(labels, loss, terms, scores, weight=tf.cast(present, tf.float32))
        )

    def training_callbacks(self, method_config):
        """Callbacks this method runs between epochs, from the run's `config.method`; none by default."""
        del method_config
        return []

    def training_state(self):
        """A short description of the method's own training state (logged when a run resumes); "" by default."""
        return ""

    def get_config(self):
        return {
            **super().get_config(),
            "backbone": keras.saving.serialize_keras_object(self.backbone),
            "num_classes": self.num_classes,
            "class_names": self.class_names,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        # Checkpoints written before the WILDCAT settings became one `wildcat` dict.
        flat = {key: config.pop(key) for key in WILDCAT_KEYS if key in config}
        if flat:
            config["wildcat"] = {**flat, **(config.get("wildcat") or {})}
        return cls(**with_backbone_deserialized(config))


# The stand-in for an empty evaluation batch: large enough for any backbone (stride 32).
BLANK_SIZE = 64


def _blank_if_empty(images, labels, masks):
    """The batch itself, or, where it is empty, one blank image (label 0, empty mask) at least `BLANK_SIZE` a side.

    Padding by sizes computed from the batch's shape, not a `tf.cond` between
    a batch and a blank of another shape: XLA needs every shape (a resize's
    size among them) as a compile-time constant, which integer arithmetic on
    shapes stays and a branch between two shapes does not.
    """
    empty = tf.cast(tf.equal(tf.shape(images)[0], 0), tf.int32)
    grow = empty * tf.maximum(BLANK_SIZE - tf.shape(images)[1:3], 0)
    images = tf.pad(images, [[0, empty], [0, grow[0]], [0, grow[1]], [0, 0]])
    labels = tf.pad(labels, [[0, empty]])
    if masks is not None:
        masks = tf.pad(masks, [[0, empty], [0, grow[0]], [0, grow[1]]])
    return images, labels, masks
