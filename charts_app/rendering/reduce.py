"""Deterministic data reduction before drawing: LTTB for lines, grid cells for scatter,
group means and first-seen category codes, and a binned Gaussian KDE for violins."""

from __future__ import annotations

import math

import numpy as np

_KDE_EXACT_LIMIT = 500_000  # violin KDE: rows x evaluation points computed exactly up to this
_KDE_MAX_BINS = 8_192


def lttb(x: np.ndarray, y: np.ndarray, threshold: int) -> np.ndarray:
    """Largest-Triangle-Three-Buckets: indices of `threshold` points, first and last kept."""
    xs = np.asarray(x, dtype=np.float64)
    ys = np.asarray(y, dtype=np.float64)
    if xs.ndim != 1 or xs.shape != ys.shape:
        raise ValueError("lttb needs two 1-D arrays of the same length")
    n = xs.shape[0]
    if threshold >= n:
        return np.arange(n, dtype=np.int64)
    if threshold < 2:
        raise ValueError("lttb threshold must be at least 2")
    if threshold == 2:
        return np.array([0, n - 1], dtype=np.int64)
    n_buckets = threshold - 2
    # Interior points 1..n-2 split into n_buckets contiguous, non-empty buckets.
    edges = 1 + (np.arange(n_buckets + 1, dtype=np.int64) * (n - 2)) // n_buckets
    counts = np.diff(edges)
    # Centroid of the *next* bucket for each bucket; the last bucket looks at the last point.
    next_x = np.empty(n_buckets, dtype=np.float64)
    next_y = np.empty(n_buckets, dtype=np.float64)
    next_x[:-1] = (np.add.reduceat(xs[: n - 1], edges[:-1]) / counts)[1:]
    next_y[:-1] = (np.add.reduceat(ys[: n - 1], edges[:-1]) / counts)[1:]
    next_x[-1] = xs[-1]
    next_y[-1] = ys[-1]
    selected = np.empty(threshold, dtype=np.int64)
    selected[0] = 0
    selected[-1] = n - 1
    # The triangle area with the previous pick a and the next centroid c is, for candidate j,
    # |x_j*(c_y-a_y) - y_j*(c_x-a_x) + (c_x*a_y - a_x*c_y)| / 2: one dot product per bucket.
    # The loop is inherently sequential (each pick depends on the previous one).
    points = np.column_stack((xs, ys))
    edge_list = edges.tolist()
    cx_list = next_x.tolist()
    cy_list = next_y.tolist()
    ax_, ay_ = float(xs[0]), float(ys[0])
    coef = np.empty(2, dtype=np.float64)
    for i in range(n_buckets):
        start, stop = edge_list[i], edge_list[i + 1]
        cx, cy = cx_list[i], cy_list[i]
        coef[0] = cy - ay_
        coef[1] = ax_ - cx
        area = points[start:stop] @ coef
        area += cx * ay_ - ax_ * cy
        j = start + int(np.abs(area, out=area).argmax())
        selected[i + 1] = j
        ax_, ay_ = float(xs[j]), float(ys[j])
    return selected


def grid_reduce(
    xs: np.ndarray,
    ys: np.ndarray,
    cells: int,
    extra: np.ndarray | None = None,
    groups: np.ndarray | None = None,
) -> np.ndarray:
    """Deterministic scatter reduction: one point per occupied grid cell (per group) + extremes."""
    n = xs.shape[0]
    nx = max(2, int(math.sqrt(cells * 2)))
    ny = max(1, cells // nx)

    def cell(v: np.ndarray, k: int) -> np.ndarray:
        lo, hi = float(v.min()), float(v.max())
        if hi <= lo:
            return np.zeros(n, dtype=np.int64)
        c = ((v - lo) * (k / (hi - lo))).astype(np.int64)
        np.minimum(c, k - 1, out=c)
        return c

    key = cell(xs, nx) * ny + cell(ys, ny)
    if groups is not None:
        key = key * (int(groups.max()) + 1) + groups
    _, first = np.unique(key, return_index=True)
    extremes = [xs.argmin(), xs.argmax(), ys.argmin(), ys.argmax()]
    if extra is not None and np.isfinite(extra).any():
        extremes += [np.nanargmin(extra), np.nanargmax(extra)]
    return np.unique(np.concatenate([first, np.array(extremes, dtype=np.int64)]))


def line_with_gaps(x_num: np.ndarray, y: np.ndarray, budget: int):
    """Rows to draw of one series, and where the line breaks.

    Missing readings (NaN) are gaps: LTTB picks at most `budget` of the finite points,
    and the line breaks between two picked points with a gap anywhere between them.
    Returns (picked row indices, positions in the picked list after which a break goes).
    """
    finite = np.isfinite(y)
    rows = np.flatnonzero(finite)
    if rows.size > budget:
        rows = rows[lttb(x_num[rows], y[rows], budget)]
    gaps_so_far = np.cumsum(~finite)
    breaks = np.flatnonzero(gaps_so_far[rows[1:]] != gaps_so_far[rows[:-1]])
    return rows, breaks


def group_mean(codes: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """The mean of `values` per code; codes < 0 and NaN values are left out (NaN: no value)."""
    ok = (codes >= 0) & np.isfinite(values)
    counts = np.bincount(codes[ok], minlength=n_groups)
    sums = np.bincount(codes[ok], weights=values[ok], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        return sums / counts


def codes_first_seen(labels: list) -> tuple[list[str], np.ndarray]:
    """Categories in order of first appearance and a code per row (-1 where missing)."""
    index: dict[str, int] = {}
    codes = np.fromiter(
        (-1 if v is None else index.setdefault(v, len(index)) for v in labels),
        dtype=np.int64,
        count=len(labels),
    )
    return list(index), codes


def gaussian_kde(data: np.ndarray, coords: np.ndarray) -> np.ndarray:
    """Gaussian KDE with Scott's bandwidth (as matplotlib's) over every point, binned when large.

    matplotlib's own evaluation is O(rows x points): ~0.4 s for 100,000 rows. Past
    _KDE_EXACT_LIMIT the rows are first counted into bins at most bandwidth/4 wide
    (at most _KDE_MAX_BINS), which changes the curve by well under 1% of its peak.
    """
    n = data.size
    std = float(data.std(ddof=1)) if n > 1 else 0.0
    if std == 0.0:
        return (coords == data[0]).astype(np.float64)  # matplotlib's fallback for one value
    bandwidth = std * n ** (-1 / 5)
    if n * coords.size <= _KDE_EXACT_LIMIT:
        centres, weights = data, np.ones(n)
    else:
        lo, hi = float(data.min()), float(data.max())
        bins = int(min(_KDE_MAX_BINS, max(1_024, math.ceil((hi - lo) / (bandwidth / 4)))))
        weights, edges = np.histogram(data, bins=bins, range=(lo, hi))
        centres = (edges[:-1] + edges[1:]) / 2
        occupied = weights > 0
        centres, weights = centres[occupied], weights[occupied].astype(np.float64)
    z = (coords[:, None] - centres[None, :]) / bandwidth
    density = np.exp(-0.5 * z * z) @ weights
    return density / (n * bandwidth * math.sqrt(2 * math.pi))
