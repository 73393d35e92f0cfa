"""The standard recipe written with Augmentor: flip_left_right(0.5),
rotate_without_crop(+-15; Augmentor has no reflect fill, corners are black),
random_brightness and random_contrast (0.8..1.2). Augmentor samples with its
own thread pool and saves JPEG at Pillow's default quality (75, cheaper than
q90): both favour it.

    python augmentor_script.py SRC OUT [--copies 5]
"""
import argparse
import logging
from pathlib import Path

import Augmentor

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--copies", type=int, default=5)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    count = sum(1 for _ in args.src.rglob("*.jpg"))
    pipeline = Augmentor.Pipeline(str(args.src.resolve()), output_directory=str(args.out.resolve()),
                                  save_format="JPEG")
    pipeline.flip_left_right(probability=0.5)
    pipeline.rotate_without_crop(probability=1.0, max_left_rotation=15, max_right_rotation=15, expand=False)
    pipeline.random_brightness(probability=1.0, min_factor=0.8, max_factor=1.2)
    pipeline.random_contrast(probability=1.0, min_factor=0.8, max_factor=1.2)
    pipeline.sample(count * args.copies, multi_threaded=True)
