"""Stain normalisation before prediction: an image's colours brought to a reference image's (torchstain).

A model trained on one lab's slides meets another lab's stains; mapping each
input onto a reference image of the training data (Macenko et al., ISBI 2009:
the stain vectors estimated from the optical densities; Reinhard et al., 2001:
the LAB means and deviations) narrows the gap. torchstain's numpy backend
computes both (no PyTorch needed).
"""

import numpy as np

METHODS = ("macenko", "reinhard")


class StainNormalizer:
    """Normalises uint8 RGB images to the stains of `reference` (a uint8 RGB image).

    Calling it returns `(image, normalised)`: the normalised image, or the image
    unchanged with `normalised` False when the method cannot estimate its stains
    (Macenko on an image with almost no tissue).

    Example:
    >>> normalizer = StainNormalizer("reinhard", reference)  # doctest: +SKIP
    >>> image, normalised = normalizer(tile)  # doctest: +SKIP
    """

    def __init__(self, method, reference):
        import torchstain

        if method not in METHODS:
            raise ValueError(f"--stain_normalization must be one of {METHODS}. Received: {method!r}")
        self.method = method
        normalizers = {
            "macenko": torchstain.normalizers.MacenkoNormalizer,
            "reinhard": torchstain.normalizers.ReinhardNormalizer,
        }
        self.normalizer = normalizers[method](backend="numpy")
        try:
            self.normalizer.fit(np.asarray(reference, np.uint8))
        except Exception as error:  # noqa: BLE001 (torchstain raises LinAlgError, ValueError, ...)
            raise ValueError(
                f"--stain_reference: its stains cannot be estimated ({type(error).__name__}: {error})"
            ) from None

    def __call__(self, image):
        try:
            if self.method == "macenko":
                normalized, _, _ = self.normalizer.normalize(I=image, stains=False)
            else:
                normalized = self.normalizer.normalize(image)
        except Exception:  # noqa: BLE001 (torchstain raises several kinds on tissue-poor images)
            return image, False
        normalized = np.asarray(normalized)
        if normalized.shape != image.shape or not np.all(np.isfinite(normalized)):
            return image, False
        return np.clip(normalized, 0, 255).astype(np.uint8), True
