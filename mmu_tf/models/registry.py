"""The methods `--config.method.name` can name: each model class registers itself under its names.

A method is its model file: the class, decorated with `@register_method("name")`,
says which settings of a run's config it takes (`run_arguments`, or `from_run_config`) and what in that config
it refuses (`config_problems`); `build_model`, `train_main`'s checks and the
list of names follow from the registry. Its settings are in `configs/common.py`
(`config.method.*`, a `config.method.<name>` section for a method's own).

Example:
>>> from mmu_tf.models import method_class
>>> method_class("maxmin").__name__, method_class("wildcat").__name__
('MaxMinModel', 'ClassActivationModel')
"""

_METHODS = {}


def register_method(*names):
    """A class decorator: `names` (the `--config.method.name` values) build the decorated model class."""

    def register(model_class):
        for name in names:
            if name in _METHODS and _METHODS[name] is not model_class:
                raise ValueError(f"method {name!r} is registered twice: {_METHODS[name]} and {model_class}")
            _METHODS[name] = model_class
        return model_class

    return register


def method_names():
    """Every registered `--config.method.name`, in registration order."""
    return tuple(_METHODS)


def method_class(name):
    """The model class of `--config.method.name`; its class attributes (`needs_masks`, ...) need no model."""
    if name not in _METHODS:
        raise ValueError(f"`--config.method.name` must be one of {method_names()}. Received: {name!r}")
    return _METHODS[name]
