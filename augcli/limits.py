"""Every bound on what an input may cost, in one place (SPEC section 4,
"Bounded"). Real recipes, plans and images sit far below each of them; past
one, augcli says which with one clear line instead of exhausting the machine.
No imports: ``validate`` and the recipe reader use these without numpy or Pillow.
"""

# the recipe file
MAX_RECIPE_BYTES = 1 << 20  # read at most this much (``validate /dev/zero`` stops here)
MAX_VALUES = 100_000  # values once YAML aliases are expanded ("billion laughs" stops here)
# characters of keys and values once aliases are expanded: a recipe never grows past what
# one file may hold (one long string repeated by aliases stops here)
MAX_EXPANDED_CHARS = MAX_RECIPE_BYTES
MAX_SHOWN = 60  # characters of a found value an error message quotes; the rest is cut
MAX_DEPTH = 64  # nesting; deeper would exhaust Python's recursion in the composer

# what a recipe may ask for
MAX_COPIES = 100_000  # augmented outputs of one source, however asked (copies, a class rule, balance)
MAX_BALANCE = 1_000_000  # images per class a balance target may ask for
MAX_SEED = 2**63 - 1  # a run seed (recipe, --seed, Augmenter): numpy's SeedSequence takes any, manifests an int64

# pixels: of any input, and of any image a recipe or a replayed manifest makes
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own decompression-bomb limit; --max-pixels changes it

# a source file is read whole, so its size is bounded by what its pixels may need: no image
# format holds a pixel in more than 16 bytes (RGBA float32), plus room for metadata (EXIF, ICC)
BYTES_PER_PIXEL = 16
METADATA_BYTES = 64 << 20

# the source tree
MAX_SCAN_DEPTH = 256  # folders below a class; deeper ones are skipped with the reason

# options
MAX_JOBS = 1024  # -j as asked; a run never starts more workers than it has tasks or cores
MAX_PREVIEW_IMAGES = 200  # rows of a contact sheet (preview -n)
MAX_PREVIEW_VARIANTS = 50  # augmented columns of a contact sheet (preview -k)


def max_source_bytes(max_pixels: int) -> int | None:
    """The largest source file read for images of at most ``max_pixels``
    (None: --max-pixels 0, no limit)."""
    return max_pixels * BYTES_PER_PIXEL + METADATA_BYTES if max_pixels else None
