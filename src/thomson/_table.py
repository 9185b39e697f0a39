"""Text tables for the terminal: the one formatter behind ``thomson compare``'s and ``thomson inspect``'s output."""

from __future__ import annotations

from collections.abc import Collection, Sequence


def format_table(
    rows: Sequence[Sequence[str]],
    *,
    right: Collection[int] = (),
    widths: Sequence[int] = (),
    rule: bool = False,
) -> str:
    """``rows`` of cells (the first row is the header) as aligned text, two spaces between columns.

    Each column is as wide as its widest cell, and at least ``widths[c]``; columns in ``right`` are right-aligned,
    the others left-aligned. ``rule`` puts a line of dashes under the header. Trailing spaces are dropped.

    Example:
        >>> print(format_table([("name", "n"), ("a", "10"), ("bb", "2")], right={1}, rule=True))
        name   n
        ----  --
        a     10
        bb     2
    """
    columns = max(len(row) for row in rows)
    width = [max([*(len(row[c]) for row in rows if c < len(row)), *widths[c : c + 1]]) for c in range(columns)]
    lines = [
        "  ".join(cell.rjust(width[c]) if c in right else cell.ljust(width[c]) for c, cell in enumerate(row))
        for row in rows
    ]
    if rule:
        lines.insert(1, "  ".join("-" * w for w in width))
    return "\n".join(line.rstrip() for line in lines)


__all__ = ["format_table"]
