"""The optimizer of docs/method.md §5: SGD with Nesterov momentum and a step-decayed learning rate."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="mmu_tf")
class StepDecay(keras.optimizers.schedules.LearningRateSchedule):
    """`lr = max(initial * factor ** floor(step / decay_steps), minimum)`.

    GlaS (ref): 1e-3, x0.9 every 10 epochs, floor 1e-7.
    """

    def __init__(self, initial_learning_rate, factor, decay_steps, minimum_learning_rate=0.0):
        self.initial_learning_rate = float(initial_learning_rate)
        self.factor = float(factor)
        self.decay_steps = int(decay_steps)
        self.minimum_learning_rate = float(minimum_learning_rate)

    def __call__(self, step):
        decays = ops.floor(ops.cast(step, "float32") / self.decay_steps)
        rate = self.initial_learning_rate * ops.power(self.factor, decays)
        return ops.maximum(rate, self.minimum_learning_rate)

    def get_config(self):
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "factor": self.factor,
            "decay_steps": self.decay_steps,
            "minimum_learning_rate": self.minimum_learning_rate,
        }


def build_optimizer(optimizer_config, steps_per_epoch, loss_scaling=False):
    """SGD (Nesterov) with weight decay and `StepDecay`, from `config.optimizer`.

    Keras applies weight decay decoupled from the gradient (AdamW-style), not
    as PyTorch's L2 term added to it; at 1e-4 and these rates the two are close.
    `global_clipnorm` (0: off) rescales the gradients to at most that global norm.
    """
    schedule = StepDecay(
        optimizer_config.learning_rate,
        optimizer_config.decay_factor,
        max(1, optimizer_config.decay_epochs * steps_per_epoch),
        optimizer_config.min_learning_rate,
    )
    optimizer = keras.optimizers.SGD(
        learning_rate=schedule,
        momentum=optimizer_config.momentum,
        nesterov=optimizer_config.nesterov,
        weight_decay=optimizer_config.weight_decay or None,
        global_clipnorm=optimizer_config.global_clipnorm or None,
    )
    return keras.optimizers.LossScaleOptimizer(optimizer) if loss_scaling else optimizer
