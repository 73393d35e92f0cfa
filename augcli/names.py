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
    "ColorJitter": Pointer(("brightness", "contrast", "saturation", "hue"), T,
                           "ColorJitter(brightness=b, contrast=c, saturation=s, hue=h) is four steps: brightness: "
                           "{factor: [1-b, 1+b]}, contrast: {factor: [1-c, 1+c]}, saturation: {factor: [1-s, 1+s]}, "
                           "hue: {shift: [-360h, 360h]} (degrees)"),
    "RandomApply": Pointer(("sequence",), T, "every step takes p: RandomApply([t], p=0.3) is t with p: 0.3, and "
                                             "RandomApply([a, b], p=0.3) is sequence: {of: [a, b], p: 0.3}"),
    "Sometimes": Pointer(("sequence",), "imgaug's", "every step takes p: Sometimes(0.3, t) is t with p: 0.3"),
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


# transforms that prepare arrays for the model, not image files: accepted as a step with a
# notice (like Keras' rescale), listed in augcli.json, never applied
TRAINING_TIME_OPS: dict[str, str] = {
    name: f"{library} {name} {what} for the model as it reads the images (image files keep their own pixel values)"
    for name, library, what in (
        ("Normalize", "torchvision's and albumentations'", "subtracts a mean and divides by a standard deviation"),
        ("ToTensor", "torchvision's", "makes a float tensor in 0..1, channels first,"),
        ("ToTensorV2", "albumentations'", "makes a channels-first tensor"),
        ("PILToTensor", "torchvision's", "makes a tensor"),
        ("ToImage", "torchvision's", "makes a tensor image"),
        ("ToDtype", "torchvision's", "changes the array type"),
        ("ConvertImageDtype", "torchvision's", "changes the array type"),
        ("ToFloat", "albumentations'", "scales to floats"),
        ("Rescaling", "Keras'", "scales pixel values"),
        ("Normalization", "Keras'", "normalises pixel values"),
    )
}


def pointer(name: str, args=None) -> str | None:
    """``"torchvision's ColorJitter is brightness, ..."``, or None for a name not in the map;
    with the step's arguments, the translation with its numbers where one is known."""
    found = FOREIGN.get(name)
    if found is None:
        return None
    return found.text(name) + (f"; here: {translated}" if (translated := translate(name, args)) else "")


def translate(name: str, args) -> str | None:
    """The augcli steps a foreign step with these arguments is, written out (ColorJitter)."""
    if name != "ColorJitter" or not isinstance(args, dict) or not args:
        return None
    steps = []
    for key, op, param in (("brightness", "brightness", "factor"), ("contrast", "contrast", "factor"),
                           ("saturation", "saturation", "factor"), ("hue", "hue", "shift")):
        value = args.get(key)
        if isinstance(value, (list, tuple)) and len(value) == 2 and all(isinstance(v, (int, float)) for v in value):
            lo, hi = value  # torchvision's explicit [min, max]
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
            lo, hi = (-value, value) if key == "hue" else (max(0, 1 - value), 1 + value)
        else:
            continue
        if key == "hue":
            lo, hi = lo * 360, hi * 360
        steps.append(f"- {op}: {{{param}: [{_num(lo)}, {_num(hi)}]}}")
    return "write " + "; ".join(steps) if steps else None


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:.4g}"
