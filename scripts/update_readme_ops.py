"""Regenerate the op table in README.md from the op registry.

Run ``make readme-ops`` after adding or changing an op; the test suite fails
while the table is stale.
"""
from pathlib import Path

from augcli.catalogue import op_table

README = Path(__file__).resolve().parents[1] / "README.md"
START, END = "<!-- ops:start -->\n", "<!-- ops:end -->"

text = README.read_text()
head, rest = text.split(START, 1)
_, tail = rest.split(END, 1)
README.write_text(head + START + op_table() + END + tail)
print(f"updated the op table in {README}")
