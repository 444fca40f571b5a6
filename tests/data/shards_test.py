"""Sharded splits: converted then streamed, they train and score like the in-memory split."""

import json
import os

import keras
import ml_collections
import numpy as np
import pytest

from mmu_tf.configs import camelyon16_p512, demo
from mmu_tf.data.datasets import load_dataset_split
from mmu_tf.data.make_shards import split_records
from mmu_tf.data.pipeline import training_dataset
from mmu_tf.data.samples import MissingFilesError
from mmu_tf.data.shards import ShardedSplit, write_shards
from mmu_tf.evaluation.evaluate import evaluate_split
from mmu_tf.models import build_model
from tests.conftest import run_module
from tools.make_camelyon_standin import write_standin


def _demo_data(**overrides):
    config = demo.get_config()
    config.data.synthetic_size = 64
    config.data.num_images = ml_collections.ConfigDict({"train": 8, "valid": 6})
    for key, value in overrides.items():
        config.data[key] = value
    return config


def _shard(data_config, split, folder, per_shard=3):
    records, class_names = split_records(data_config, split)
    return write_shards(records, folder, split, class_names, examples_per_shard=per_shard, progress=False)


def test_write_shards_splits_examples_and_records_metadata(tmp_path):
    config = _demo_data()
    metadata = _shard(config.data, "train", str(tmp_path))
    assert metadata["count"] == 8 and metadata["examples_with_masks"] == 8
    assert metadata["shards"] == ["train-00000.tfrecord", "train-00001.tfrecord", "train-00002.tfrecord"]
    with open(tmp_path / "train.json") as handle:
        assert json.load(handle)["class_names"] == ["benign", "malignant"]
    streamed = ShardedSplit(str(tmp_path), "train")
    loaded = load_dataset_split(config.data, "train")
    for (image, label, mask, has_mask, name), expected_image, expected_mask, expected_label, expected_name in zip(
        streamed.examples(), loaded.images, loaded.masks, loaded.labels, loaded.names
    ):
        np.testing.assert_array_equal(image.numpy(), expected_image)  # PNG: lossless
        np.testing.assert_array_equal(mask.numpy(), expected_mask)
        assert bool(has_mask) and int(label) == expected_label and name.numpy().decode() == expected_name
    with pytest.raises(MissingFilesError, match="valid.json"):
        ShardedSplit(str(tmp_path), "valid")


@pytest.mark.parametrize("shuffle_buffer", [1024, 3])  # covers the split / streams through a buffer
def test_streamed_training_is_deterministic_and_resumes_at_an_epoch(tmp_path, shuffle_buffer):
    config = _demo_data(crop_size=48, shuffle_buffer=shuffle_buffer)
    _shard(config.data, "train", str(tmp_path))
    split = ShardedSplit(str(tmp_path), "train")
    three = [batch for batch in training_dataset(split, config.data, 4, seed=1, with_masks=True, epochs=3)]
    again = [batch for batch in training_dataset(split, config.data, 4, seed=1, with_masks=True, epochs=3)]
    resumed = [
        batch for batch in training_dataset(split, config.data, 4, seed=1, with_masks=True, initial_epoch=2, epochs=1)
    ]
    assert len(three) == 6 and three[0][0].shape == (4, 48, 48, 3) and three[0][2].shape == (4, 48, 48)
    for first, second in zip(three, again):
        np.testing.assert_array_equal(first[0].numpy(), second[0].numpy())
    for first, second in zip(three[4:], resumed):
        np.testing.assert_array_equal(first[0].numpy(), second[0].numpy())
    assert not np.array_equal(three[0][1].numpy(), three[2][1].numpy()) or not np.array_equal(
        three[0][0].numpy(), three[2][0].numpy()
    )  # epochs differ
    if shuffle_buffer != 1024:
        return  # that `fit` takes the stream is checked once
    config.method.name = "cam_avg"
    keras.utils.set_random_seed(0)
    model = build_model(config, split.class_names)
    model.compile(optimizer=keras.optimizers.Adam(1e-3))
    data = training_dataset(split, config.data, 4, seed=1)
    history = model.fit(data, steps_per_epoch=2, epochs=1, verbose=0).history  # the CLI trains the same way
    assert np.isfinite(history["loss"][0])
    no_size = _demo_data(crop_size=0)
    with pytest.raises(ValueError, match="crop_size"):
        training_dataset(split, no_size.data, 4, seed=1)


@pytest.mark.parametrize("per_shard", [3, 8])  # 3 files: by file; 1 file: by record
def test_workers_read_disjoint_shares_that_hold_the_split(tmp_path, per_shard):
    config = _demo_data(crop_size=48, shuffle_buffer=2)
    _shard(config.data, "train", str(tmp_path), per_shard=per_shard)
    split = ShardedSplit(str(tmp_path), "train")
    shares = [
        [name.numpy().decode() for *_, name in split.examples(order_seed=5, shuffle_buffer=2, workers=(2, index))]
        for index in range(2)
    ]
    assert not set(shares[0]) & set(shares[1])
    assert sorted(shares[0] + shares[1]) == sorted(split.first_names(8))
    if per_shard == 3:  # whole files: 3 + 3 + 2 examples over two workers
        assert sorted(len(share) for share in shares) in ([3, 5], [2, 6])
    # The training batches: the same split between workers, in memory and streamed.
    for source in (split, load_dataset_split(config.data, "train")):
        for buffer in (2, 1024):
            config.data.shuffle_buffer = buffer
            labels = [
                np.concatenate(
                    [
                        batch[1].numpy()
                        for batch in training_dataset(source, config.data, 2, seed=1, epochs=1, workers=(2, index))
                    ]
                )
                for index in range(2)
            ]
            assert len(labels[0]) + len(labels[1]) == 8
            assert sorted(np.concatenate(labels)) == sorted(split_labels(split))
    with pytest.raises(ValueError, match="workers"):
        training_dataset(split, config.data, 2, seed=1, workers=(2, 2))


def split_labels(split):
    return [int(label) for _, label, *_ in split.examples()]


def _trained_weights(split, config, steps):
    keras.utils.set_random_seed(0)
    model = build_model(config, ["benign", "malignant"])
    model.compile(optimizer=keras.optimizers.SGD(1e-2, momentum=0.9))
    model.fit(training_dataset(split, config.data, 4, seed=3), steps_per_epoch=steps, epochs=1, verbose=0)
    return model.get_weights()


def test_streamed_training_covered_by_its_buffer_trains_exactly_like_in_memory(tmp_path):
    config = _demo_data(crop_size=48, rotate90=True)
    _shard(config.data, "train", str(tmp_path))
    loaded, streamed = load_dataset_split(config.data, "train"), ShardedSplit(str(tmp_path), "train")
    in_memory = list(training_dataset(loaded, config.data, 4, seed=3, with_masks=True, epochs=2))
    from_shards = list(training_dataset(streamed, config.data, 4, seed=3, with_masks=True, epochs=2))
    assert len(in_memory) == len(from_shards) == 4
    for expected, batch in zip(in_memory, from_shards):
        for expected_part, part in zip(expected, batch):
            np.testing.assert_array_equal(part.numpy(), expected_part.numpy())
    config.method.name = "cam_avg"
    for expected, weights in zip(_trained_weights(loaded, config, 2), _trained_weights(streamed, config, 2)):
        np.testing.assert_array_equal(weights, expected)
    # A smaller buffer streams: another order, the same examples.
    config.data.shuffle_buffer = 3
    buffered = list(training_dataset(streamed, config.data, 8, seed=3, with_masks=True, epochs=1))[0]
    assert sorted(buffered[1].numpy()) == sorted(np.concatenate([batch[1].numpy() for batch in in_memory[:2]]))


def test_converted_then_streamed_split_scores_exactly_like_the_in_memory_one(tmp_path):
    config = _demo_data()
    _shard(config.data, "valid", str(tmp_path / "shards"))
    keras.utils.set_random_seed(0)
    config.method.name = "cam_avg"
    model = build_model(config, ["benign", "malignant"])
    in_memory = evaluate_split(
        model, load_dataset_split(config.data, "valid"), config.data, str(tmp_path / "a"), progress=False
    )
    streamed = evaluate_split(
        model, ShardedSplit(str(tmp_path / "shards"), "valid"), config.data, str(tmp_path / "b"), progress=False
    )
    assert in_memory["per_image"] == streamed["per_image"]
    for key in ("classification_error", "f1_foreground", "f1_background", "all_ones_mask", "pixel_confusion_matrix"):
        assert in_memory[key] == streamed[key], key


def test_camelyon_standin_normal_patches_count_only_in_background_f1_in_both_forms(tmp_path):
    root = str(tmp_path / "camelyon")
    write_standin(root, patches_per_split=4, size=64, splits=("valid",))
    config = camelyon16_p512.get_config()
    config.data.root = root
    loaded = load_dataset_split(config.data, "valid")
    assert [int(label) for label in loaded.labels] == [0, 1, 0, 1]
    assert not loaded.masks[0].any() and loaded.masks[1].any()  # normal: all background
    _shard(config.data, "valid", str(tmp_path / "shards"))
    keras.utils.set_random_seed(0)
    config.method.name = "cam_max"
    model = build_model(config, loaded.class_names)
    summaries = []
    for name, split in (("a", loaded), ("b", ShardedSplit(str(tmp_path / "shards"), "valid", "background"))):
        summaries.append(
            evaluate_split(model, split, config.data, str(tmp_path / name), f1_rule="camelyon", progress=False)
        )
    assert summaries[0]["per_image"] == summaries[1]["per_image"]
    records = summaries[0]["per_image"]
    expected_foreground = np.mean([record["f1_foreground"] for record in records if record["label"] == 1])
    expected_background = np.mean([record["f1_background"] for record in records])
    assert summaries[1]["f1_foreground"] == pytest.approx(expected_foreground)
    assert summaries[1]["f1_background"] == pytest.approx(expected_background)


def test_train_main_evaluates_from_shards_with_the_metrics_of_the_files(trained_workdir, tmp_path):
    from tests.conftest import TINY_RUN

    workdir, _ = trained_workdir
    shards = str(tmp_path / "shards")
    result = run_module(
        [*TINY_RUN, "--split=valid", f"--output={shards}", "--examples_per_shard=3"], module="mmu_tf.data.make_shards"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    with open(os.path.join(workdir, "metrics", "valid.json")) as handle:
        from_files = json.load(handle)
    os.remove(os.path.join(workdir, "metrics", "valid.json"))
    result = run_module(
        [*TINY_RUN, f"--config.data.shards={shards}", f"--workdir={workdir}", "--mode=evaluate", "--split=valid"]
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(os.path.join(workdir, "metrics", "valid.json")) as handle:
        from_shards = json.load(handle)
    assert from_shards["per_image"] == from_files["per_image"]
    assert from_shards["f1_background"] == from_files["f1_background"]
