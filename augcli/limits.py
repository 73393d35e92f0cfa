"""Every bound on what an input may cost, in one place (SPEC section 4,
"Bounded"). Real recipes, plans and images sit far below each of them; past
one, augcli says which with one clear line instead of exhausting the machine.
No imports: ``validate`` and the recipe reader use these without numpy or Pillow.
"""

# the recipe file
MAX_RECIPE_BYTES = 1 << 20  # read at most this much (``validate /dev/zero`` stops here)
MAX_VALUES = 100_000  # values once YAML aliases are expanded ("billion laughs" stops here)
MAX_DEPTH = 64  # nesting; deeper would exhaust Python's recursion in the composer

# what a recipe may ask for
MAX_COPIES = 100_000  # augmented outputs of one source, however asked (copies, a class rule, balance)
MAX_BALANCE = 1_000_000  # images per class a balance target may ask for
MAX_SEED = 2**63 - 1  # a run seed (recipe, --seed, Augmenter): numpy's SeedSequence takes any, manifests an int64

# pixels: of any input, and of any image a recipe or a replayed manifest makes
DEFAULT_MAX_PIXELS = 89_478_485  # Pillow's own decompression-bomb limit; --max-pixels changes it
