"""Numba kernels on ndarrays.

numba's on-disk cache of a module is invalidated only when that module's own file
changes, yet ``sweep.py``'s cache embeds compiled copies of ``engine.py``'s step
functions: after an edit of ``engine.py`` alone, a stale sweep cache would be loaded (and
would even replace ``simulate_nb``'s step functions in that process). So the cache of
these kernels lives in a folder named after a hash of all their sources: any edit of any
kernel starts a fresh cache. The folder is under ``$NUMBA_CACHE_DIR`` when set, else
``<repo>/.numba_cache``.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path


def _cache_dir() -> str:
    import numba

    here = Path(__file__).resolve().parent
    digest = hashlib.sha1()
    for path in sorted(here.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    base = numba.config.CACHE_DIR or str(here.parents[1] / ".numba_cache")
    return os.path.join(base, f"kernels-{digest.hexdigest()[:12]}")


def _use_source_keyed_cache() -> None:
    import numba

    numba.config.CACHE_DIR = _cache_dir()


_use_source_keyed_cache()
