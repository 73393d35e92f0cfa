"""Names users bring from other libraries, pointing to the augcli ops that do
the same, for the unknown-op error and ``augcli transforms NAME``.

Kept small on purpose: the transforms a first recipe reaches for in
albumentations, torchvision and Keras' ImageDataGenerator, not every class of
every library. A test checks that each pointer names real ops.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Pointer:
    ops: tuple[str, ...]  # the augcli ops (or compositions) that do it
    library: str  # where the name comes from, possessive: "torchvision's"
    how: str = ""  # a word on parameters or combining, when the mapping needs one

    def text(self, name: str) -> str:
        ops = self.ops[0] if len(self.ops) == 1 else ", ".join(self.ops[:-1]) + " and " + self.ops[-1]
        return f"{self.library} {name} is {ops} in augcli" + (f" ({self.how})" if self.how else "")


A, T, K = "albumentations'", "torchvision's", "Keras'"
SOME = "one op each, e.g. in a some_of"

FOREIGN: dict[str, Pointer] = {
    "HorizontalFlip": Pointer(("hflip",), A),
    "RandomHorizontalFlip": Pointer(("hflip",), T),
    "horizontal_flip": Pointer(("hflip",), K),
    "VerticalFlip": Pointer(("vflip",), A),
    "RandomVerticalFlip": Pointer(("vflip",), T),
    "vertical_flip": Pointer(("vflip",), K),
    "RandomRotate90": Pointer(("rot90",), A, "rot90: {k: [0, 3]}"),
    "Rotate": Pointer(("rotate",), A, "Rotate(limit=l) is rotate: {angle: [-l, l]}"),
    "rotation_range": Pointer(("rotate",), K, "or paste your arguments as a keras: block"),
    "Affine": Pointer(("affine",), A),
    "RandomAffine": Pointer(("affine",), T),
    "ShiftScaleRotate": Pointer(("affine",), A),
    "Perspective": Pointer(("perspective",), A),
    "RandomPerspective": Pointer(("perspective",), T),
    "ElasticTransform": Pointer(("elastic",), A),
    "GridDistortion": Pointer(("elastic",), A),
    "Resize": Pointer(("resize", "smallest_max_size"), A, "torchvision's Resize(n) is smallest_max_size: "
                                                         "{max_size: n}"),
    "SmallestMaxSize": Pointer(("smallest_max_size",), A),
    "LongestMaxSize": Pointer(("longest_max_size",), A),
    "PadIfNeeded": Pointer(("pad_if_needed",), A),
    "RandomCrop": Pointer(("random_crop",), T),
    "CenterCrop": Pointer(("center_crop",), T),
    "RandomResizedCrop": Pointer(("random_resized_crop",), T),
    "ColorJitter": Pointer(("color_jitter",), T, "one op, torchvision's semantics; or brightness, contrast, "
                                                 "saturation and hue one op each"),
    "CLAHE": Pointer(("clahe",), A),
    "MotionBlur": Pointer(("motion_blur",), A),
    "MedianBlur": Pointer(("median_blur",), A),
    "ChannelShuffle": Pointer(("channel_shuffle",), A),
    "Downscale": Pointer(("downscale",), A),
    "AutoAugment": Pointer(("autoaugment",), T, "policy: imagenet, cifar10 or svhn"),
    "AugMix": Pointer(("augmix",), T),
    "RandomOrder": Pointer(("random_order",), T),
    "RandomBrightnessContrast": Pointer(("brightness", "contrast"), A),
    "HueSaturationValue": Pointer(("hue", "saturation", "brightness"), A, SOME),
    "RandomGamma": Pointer(("gamma",), A),
    "ToGray": Pointer(("grayscale",), A),
    "RandomGrayscale": Pointer(("grayscale",), T, "grayscale: {p: 0.1}"),
    "Equalize": Pointer(("equalize",), A),
    "RandomEqualize": Pointer(("equalize",), T),
    "RandomAutocontrast": Pointer(("autocontrast",), T),
    "Posterize": Pointer(("posterize",), A),
    "Solarize": Pointer(("solarize",), A),
    "InvertImg": Pointer(("invert",), A),
    "Sharpen": Pointer(("sharpen",), A),
    "GaussianBlur": Pointer(("blur",), T),
    "Blur": Pointer(("blur",), A),
    "ImageCompression": Pointer(("jpeg",), A),
    "GaussNoise": Pointer(("gaussian_noise",), A),
    "CoarseDropout": Pointer(("cutout",), A),
    "RandomErasing": Pointer(("cutout",), T),
    "channel_shift_range": Pointer(("channel_shift",), K),
    "RandAugment": Pointer(("randaugment",), T),
    "TrivialAugmentWide": Pointer(("trivialaugment",), T),
    "OneOf": Pointer(("one_of",), A),
    "SomeOf": Pointer(("some_of",), A),
    "RandomChoice": Pointer(("one_of",), T),
    "Compose": Pointer(("sequence",), A, "a pipeline is already a sequence"),
}

# (augcli op, a parameter it lacks) -> what the user most likely meant
FOREIGN_PARAMS: dict[tuple[str, str], str] = {
    ("RandomRotation", "degrees"): "that is torchvision's RandomRotation(degrees); augcli's RandomRotation is "
                                   "Keras' (factor, in turns); for degrees d write rotate: {angle: [-d, d]}",
    ("rotate", "limit"): "albumentations' Rotate(limit=l) is rotate: {angle: [-l, l]}",
    ("rotate", "degrees"): "torchvision's RandomRotation(degrees=d) is rotate: {angle: [-d, d]}",
}


def pointer(name: str) -> str | None:
    """``"torchvision's ColorJitter is brightness, ..."``, or None for a name not in the map."""
    found = FOREIGN.get(name)
    return found.text(name) if found else None
