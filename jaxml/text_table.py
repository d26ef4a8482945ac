"""Plain-text tables for the terminal (`jaxml list`): column widths from the content, fitted to a
width by narrowing the widest shrinkable columns, cut cells ending in an ellipsis."""

from __future__ import annotations

from typing import Sequence

ELLIPSIS = "..."  # ASCII, like the rest of `jaxml list`: any terminal encoding prints it
GAP = "  "


def fit_widths(natural: Sequence[int], minimum: Sequence[int], width: int) -> list[int]:
    """Column widths no wider than `natural`, each at least `minimum`, summing (with the gaps) to at
    most `width` if the minimums allow: the widest column that can still shrink gives up one
    character at a time."""
    widths = list(natural)
    budget = width - len(GAP) * (len(widths) - 1)
    while sum(widths) > budget:
        shrinkable = [i for i, w in enumerate(widths) if w > minimum[i]]
        if not shrinkable:
            break
        widest = max(shrinkable, key=lambda i: widths[i])
        widths[widest] -= 1
    return widths


def clip(text: str, width: int) -> str:
    """`text` cut to `width` characters, the cut marked with an ellipsis."""
    if len(text) <= width:
        return text
    if width <= len(ELLIPSIS):
        return text[:width]
    return text[: width - len(ELLIPSIS)] + ELLIPSIS


def render(headers: Sequence[str], rows: Sequence[Sequence[str]], *, width: int,
           minimum: Sequence[int | None]) -> list[str]:
    """The table's lines: a header row, then one line per row, columns separated by two spaces and
    left-aligned. `minimum[i]` is the narrowest column i may become (None: never narrower than its
    content); the last column is not padded."""
    natural = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]
    floor = [natural[i] if m is None else min(natural[i], max(m, len(headers[i]))) for i, m in enumerate(minimum)]
    widths = fit_widths(natural, floor, width)
    lines = []
    for row in [headers, *rows]:
        cells = [clip(str(cell), w).ljust(w) for cell, w in zip(row, widths)]
        lines.append(GAP.join(cells).rstrip())
    return lines
