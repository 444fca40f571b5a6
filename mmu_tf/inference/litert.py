"""Runs an exported `.tflite` model under LiteRT with the same input checks as the SavedModel.

A TFLite graph cannot refuse a call (its builtin ops have no assertion), so a
model fed 0-255 pixels or NaN would answer confidently. `LiteRTModel` checks
the input first, and reads the class names and limits from the `.tflite.json`
written beside the model by `python -m export.tflite`; the outputs come by name
from the model's own signature.

    from mmu_tf.inference.litert import LiteRTModel
    model = LiteRTModel("mmu.tflite")
    outputs = model(images)          # float32 [N, H, W, 3] in [0, 1]
    outputs["class_name"], outputs["mask"].shape
"""

import json
import os

from mmu_tf.inference.input_checks import InputError, check_float_images_numpy
from mmu_tf.inference.predictor import resize_settings


class LiteRTModel:
    """A `.tflite` model with its class names, checked inputs and named outputs.

    Args:
        path: the `.tflite` file; `path + ".json"` (written by the exporter)
            names the outputs and classes and gives the pixel limit.
        num_threads: LiteRT's CPU threads (default: LiteRT's own choice).

    Calling it with float32 images `[N, H, W, 3]` in [0, 1] returns numpy
    `probabilities` (N, K), `class_id` (N,), `class_name` (N names),
    `mask` (N, H, W) and `foreground_fraction` (N,); anything else raises
    `InputError` saying what is wrong.
    """

    def __init__(self, path, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter

        description_path = f"{path}.json"
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{path}: no such TFLite model")
        if not os.path.isfile(description_path):
            raise FileNotFoundError(f"{description_path}: missing (python -m export.tflite writes it beside the model)")
        with open(description_path) as handle:
            description = json.load(handle)
        missing = sorted({"outputs", "class_names", "max_image_pixels", "resize"} - set(description))
        if missing:
            raise InputError(
                f"{description_path}: lacks {missing}; export the model again with python -m export.tflite"
            )
        # Models exported before the signature kept the names map `output_i` to them here.
        outputs = description["outputs"]
        self.output_names = outputs if isinstance(outputs, dict) else {name: name for name in outputs}
        self.class_names = description["class_names"]
        self.max_image_pixels = int(description["max_image_pixels"])
        # The evaluation resize of the model's training config (`mmu_tf.inference.predictor.evaluation_input`).
        self.resize_settings = resize_settings(**description["resize"])
        try:
            interpreter = Interpreter(model_path=path, num_threads=num_threads)
        except (ValueError, RuntimeError) as error:
            raise InputError(f"{path}: not a TFLite model LiteRT can load ({error})") from None
        self.runner = interpreter.get_signature_runner("serving_default")

    def __call__(self, images):
        images = check_float_images_numpy(images, self.max_image_pixels)
        outputs = {self.output_names.get(key, key): value for key, value in self.runner(images=images).items()}
        outputs["class_name"] = [self.class_names[int(index)] for index in outputs["class_id"]]
        return outputs


__all__ = ["InputError", "LiteRTModel"]
