"""Reading JSON that a user may hand imcflow: every failure is one clear error, never a traceback.

``json.loads`` raises ``RecursionError`` on deeply nested input (``[[[[…`` a few thousand deep)
and ``JSONDecodeError`` on malformed text; both become the caller's :class:`ImcflowError`
subclass with a one-line message naming the source.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from imcflow.errors import DataError, ImcflowError


def loads(text: str, source: str = "", error: type[ImcflowError] = DataError) -> Any:
    """Parse JSON ``text``; errors are ``error`` with ``source`` (a file name) as prefix."""
    where = f"{source}: " if source else ""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{where}malformed JSON: {exc.msg} at line {exc.lineno} "
                    f"column {exc.colno}") from None
    except RecursionError:
        raise error(f"{where}malformed JSON: nested too deeply") from None


def load(path: str | os.PathLike[str], what: str = "JSON file",
         error: type[ImcflowError] = DataError) -> Any:
    """Read and parse the JSON file ``path`` (``what`` names it in errors)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{what} not found: {p}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise error(f"cannot read {what} {p}: {exc}") from None
    return loads(text, str(p), error)


def plain(x: Any, nonfinite: Any = None) -> Any:
    """A JSON-safe copy of ``x``: numpy scalars as Python numbers, tuples as lists, and every
    non-finite float replaced by ``nonfinite`` (``None`` → JSON null; ``str`` → its text,
    e.g. ``"inf"``)."""
    if isinstance(x, dict):
        return {k: plain(v, nonfinite) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [plain(v, nonfinite) for v in x]
    if hasattr(x, "item") and callable(x.item) and getattr(x, "shape", None) == ():
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return nonfinite(x) if callable(nonfinite) else nonfinite
    return x
