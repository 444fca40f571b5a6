"""Every config file parses and holds what its docstring says."""

import importlib

import pytest

from mmu_tf.configs import common


@pytest.mark.parametrize("name", ["demo", "glas", "glas_lite0", "camelyon16_p512"])
def test_every_config_has_every_field_of_the_base(name):
    config = importlib.import_module(f"configs.{name}").get_config()
    base = common.base_config()

    def fields(section, prefix=""):
        names = set()
        for key, value in section.items():
            names |= fields(value, f"{prefix}{key}.") if hasattr(value, "items") else {f"{prefix}{key}"}
        return names

    assert fields(base) <= fields(config)


def test_glas_lite0_is_the_papers_protocol_on_the_offline_imagenet_backbone():
    from mmu_tf.configs import glas, glas_lite0

    paper, lite0 = glas.get_config(), glas_lite0.get_config()
    assert lite0.model.pretrained == "efficientnet_lite0_imagenet" and lite0.epochs == 60
    assert lite0.method.to_dict() == paper.method.to_dict()
    assert lite0.optimizer.to_dict() == paper.optimizer.to_dict()
    assert lite0.data.to_dict() == paper.data.to_dict()
