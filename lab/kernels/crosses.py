"""Cross detection between two series: bool arrays for entry and exit rules.

1-D ``float64`` arrays of shape ``(n,)`` in, ``bool`` arrays of shape ``(n,)`` out; a
cross at bar ``i`` uses bars ``i-1`` and ``i`` only.
"""

from __future__ import annotations

import numpy as np
from numba import njit

@njit(cache=True)
def cross_above_nb(a, b):
    """Bars where ``a`` crosses above ``b``.

    Parameters
    ----------
    a, b : ndarray of float64, shape (n,)
        Two series (pass ``np.full(n, level)`` to cross a constant level).

    Returns
    -------
    ndarray of bool, shape (n,)
        ``a[i] > b[i] and a[i-1] <= b[i-1]``; False at bar 0 and wherever one of the
        four values is ``NaN``.
    """
    n = a.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    for i in range(1, n):
        a0 = a[i - 1]
        b0 = b[i - 1]
        a1 = a[i]
        b1 = b[i]
        if np.isnan(a0) or np.isnan(b0) or np.isnan(a1) or np.isnan(b1):
            continue
        out[i] = a1 > b1 and a0 <= b0
    return out


@njit(cache=True)
def cross_below_nb(a, b):
    """Bars where ``a`` crosses below ``b``.

    Parameters
    ----------
    a, b : ndarray of float64, shape (n,)

    Returns
    -------
    ndarray of bool, shape (n,)
        ``a[i] < b[i] and a[i-1] >= b[i-1]``; False at bar 0 and wherever one of the
        four values is ``NaN``.
    """
    n = a.shape[0]
    out = np.zeros(n, dtype=np.bool_)
    for i in range(1, n):
        a0 = a[i - 1]
        b0 = b[i - 1]
        a1 = a[i]
        b1 = b[i]
        if np.isnan(a0) or np.isnan(b0) or np.isnan(a1) or np.isnan(b1):
            continue
        out[i] = a1 < b1 and a0 >= b0
    return out
