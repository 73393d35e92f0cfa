"""The recipe's ``labels:`` block, for annotated layouts (SPEC section 8):

```yaml
labels: {min_visibility: 0.3, min_size: 2, on_empty: redraw, ignore_index: 255}
```

A value type of its own (no imports of the pixel machinery) so the recipe
can hold it without depending on how targets move; its keys, kinds and
bounds are declared with the rest of the envelope (``envelope.LABELS``).
"""
from __future__ import annotations

from dataclasses import dataclass

ON_EMPTY = ("keep", "redraw", "skip")


@dataclass(frozen=True)
class LabelRules:
    """What happens to objects the geometry pushes out of the frame, and the
    mask's fill value."""

    min_visibility: float = 0.0  # drop a box whose visible area is under this fraction of its whole
    min_size: float = 1.0  # drop a box whose clipped width or height is under this, in pixels
    on_empty: str = "keep"  # an output whose objects all left the frame: keep | redraw | skip
    ignore_index: int = 0  # what a mask gets where the fill brings pixels in

    def to_plain(self) -> dict:
        return {"min_visibility": self.min_visibility, "min_size": self.min_size, "on_empty": self.on_empty,
                "ignore_index": self.ignore_index}
