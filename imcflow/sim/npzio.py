"""Reading imcflow's ``.npz`` datasets: arrays plus a JSON ``meta`` that names the format and
carries the spec."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from imcflow import jsonio
from imcflow import spec as specmod
from imcflow.errors import DataError, SpecError
from imcflow.spec import DesignSpec


def load_npz(path: str | os.PathLike[str], what: str) -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` file (no pickles); :class:`DataError` naming ``what`` if it is
    missing or unreadable."""
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise DataError(f"{what} not found: {p}") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{p} is not a readable .npz file: {exc}") from None


def read_dataset(path: str | os.PathLike[str], fmt: str, what: str
                 ) -> tuple[dict[str, np.ndarray], dict[str, Any], DesignSpec]:
    """Arrays, ``meta`` and spec of a dataset of format ``fmt``; :class:`DataError` (naming
    ``what``) if the file is missing, unreadable or of another kind."""
    p = Path(path)
    data = load_npz(p, what)
    try:
        meta = jsonio.loads(str(data["meta"]), str(p))
        if not isinstance(meta, dict) or meta.get("format") != fmt:
            raise DataError(f"{p} is not an imcflow {what}")
        return data, meta, specmod.from_dict(meta["spec"])
    except (KeyError, SpecError) as exc:
        raise DataError(f"{p}: corrupt {what} ({exc})") from None
