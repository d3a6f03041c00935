"""Encoding a drawn figure: SVG, lossless WebP, or PNG (an indexed-colour PNG when that stays
visually identical to the full-colour render, else full colour)."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from contextlib import contextmanager
from types import MappingProxyType

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.figure import Figure
from PIL import Image, ImageChops

from .style import FIG_DPI, HEIGHT_PX, WIDTH_PX

# The rule: an indexed PNG is used only when its mean absolute difference from the
# full-colour render is at most this (of 255, per channel). It is computed exactly, from
# the colour histogram, for every image.
QUANTIZE_MAX_MEAN_ABS_DIFF = 2.0
# What the palette search aims for, far inside the rule (the former octree palette was
# ~1.0 off, white drawn as 254): it adds colours until the mean difference is at most
# _PALETTE_TARGET and every colour covering at least _GUARD_PIXELS pixels is within
# _GUARD_DISTANCE (|dr| + |dg| + |db|) of its palette colour, so no mark, swatch or
# cell changes colour; only single antialiasing pixels may move further. Measured on
# the ten chart types: exact (lossless) up to 256 colours, else 60-140 colours and a mean
# difference of at most 0.15; 27% fewer bytes in total (a few files up to ~20% larger).
_PALETTE_TARGET = 0.15
_GUARD_PIXELS = 4
_GUARD_DISTANCE = 24
_SEED_COLOURS = 16  # the most frequent colours start the palette
_BATCH = 8  # colours added per round of the search
_MAX_COLOURS = 65_535  # distinct colours past this: full colour (photo-like, never a chart)
# Past this many distinct colours (dense translucent scatters: ~15,000) the search costs more
# than it saves (~40 ms); such images take Pillow's octree palette instead (~10 ms, the
# former method: ~1.0 off, still checked against the rule).
_SEARCH_MAX_COLOURS = 4_096
_OCTREE = Image.Quantize.FASTOCTREE
# Filter "Up" on every row plus zlib's Z_RLE strategy: rows repeat their neighbours
# (grid lines, flat areas), so most of the filtered bytes are zero runs. Measured on a
# 1000x500 line chart: 19 kB in ~1.5 ms, vs Pillow's palette PNG (no filter) 25 kB with
# Z_RLE or 23.6 kB in ~8.6 ms with the default strategy at level 6.
_ZLIB = (6, zlib.DEFLATED, 15, 9, zlib.Z_RLE)  # level, method, window bits, memLevel, strategy
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Full colour (the fallback): Pillow, Z_RLE (~8.5 ms vs ~13 ms at the default strategy).
_PNG_SAVE = MappingProxyType({"optimize": False, "compress_level": 6, "compress_type": zlib.Z_RLE})
# WebP lossless: exact pixels (lossy rings around text and thin lines), and for flat-colour charts
# it is as small as lossy q90 (~24 kB vs ~30 kB). method=1/quality=50 measured ~13 ms;
# method 4 is ~40 ms for <1% fewer bytes, method 0 is 2.5x larger.
_WEBP_SAVE = MappingProxyType({"lossless": True, "method": 1, "quality": 50})
_LEVELS = np.arange(256, dtype=np.int64)
_OPAQUE = np.uint32(0xFF000000)
_RGB_MASK = np.uint32(0x00FFFFFF)

# Colour -> histogram slot tables (2**24 uint16, 32 MB of address space each; only the
# pages of colours met are ever touched). Never cleared: a slot is written for every colour
# of an image before it is read. One per encoder running at once, kept for reuse.
_luts: list[np.ndarray] = []
_luts_lock = threading.Lock()


_thread = threading.local()  # each thread's Agg renderer, reused chart after chart


class ReusingCanvas(FigureCanvasAgg):
    """An Agg canvas that draws with its thread's renderer, kept from chart to chart.

    Every chart has the same size, so the pixel buffer is not allocated again, and
    matplotlib's text-metrics cache (keyed by renderer) keeps the sizes of the texts that
    every chart repeats (tick labels, dates): ~5% of a draw. The renderer is cleared at the
    start of each draw; a thread draws one figure at a time, and the pixels are encoded
    before that thread draws again.
    """

    def get_renderer(self):
        w, h = self.get_width_height(physical=True)
        key = (w, h, self.figure.dpi)
        kept = getattr(_thread, "renderer", None)
        if kept is None or kept[0] != key:
            kept = _thread.renderer = (key, RendererAgg(w, h, self.figure.dpi))
        self._lastKey = key
        self.renderer = kept[1]
        return self.renderer


def mean_abs_diff(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute per-channel difference of two uint8 arrays of the same shape."""
    high = np.maximum(a, b)
    high -= np.minimum(a, b)
    return float(high.sum(dtype=np.uint64)) / high.size


def image_mean_abs_diff(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute per-channel difference of two RGB images, from a histogram of |a - b|.

    Same number as `mean_abs_diff` on the arrays, about 4x faster (no array copies).
    """
    counts = np.asarray(ImageChops.difference(a, b).histogram(), dtype=np.int64)
    channels = len(counts) // 256
    total = int((counts.reshape(channels, 256) * _LEVELS).sum())
    return total / (a.width * a.height * channels)


def encode(fig: Figure, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "svg":
        fig.savefig(out, format="svg", dpi=FIG_DPI, metadata={"Date": None})
        return out.getvalue()
    canvas = ReusingCanvas(fig)
    canvas.draw()
    rgba = canvas.buffer_rgba()
    if fmt == "png":
        content = indexed_png(rgba, WIDTH_PX, HEIGHT_PX)
        if content is not None:
            return content
    # The figure face is opaque white, so alpha is 255 everywhere and RGB loses nothing.
    rgb = Image.frombuffer("RGBA", (WIDTH_PX, HEIGHT_PX), rgba, "raw", "RGBA", 0, 1).convert("RGB")
    if fmt == "webp":
        rgb.save(out, "WEBP", **_WEBP_SAVE)
    else:
        rgb.save(out, "PNG", **_PNG_SAVE)
    return out.getvalue()


def indexed_png(rgba, width: int, height: int) -> bytes | None:
    """An indexed-colour PNG of an RGBA buffer within the quantization rule, or None (not
    opaque, too many colours, or too far from the full-colour pixels)."""
    # Little-endian uint32 per pixel: R | G << 8 | B << 16 | A << 24.
    px = np.frombuffer(rgba, dtype="<u4")
    # Charts are runs of equal pixels: only the first pixel of each run is looked at.
    starts = np.flatnonzero(px[1:] != px[:-1])
    starts += 1
    starts = np.concatenate((np.zeros(1, dtype=starts.dtype), starts))
    values = px[starts]
    if values.min() < _OPAQUE:
        return None
    lengths = np.diff(starts, append=px.size)
    found = _histogram(values, lengths)
    if found is None:
        return None
    colours, counts, slots = found
    if len(colours) > _SEARCH_MAX_COLOURS:
        return _octree_png(rgba, width, height)
    palette, index, mad = choose_palette(colours, counts, px.size)
    if mad > QUANTIZE_MAX_MEAN_ABS_DIFF:
        return None
    # Similar colours get near indices: smaller differences for the Up filter to leave.
    luminance = palette.astype(np.int32) @ np.array([299, 587, 114], dtype=np.int32)
    order = np.argsort(luminance, kind="stable")
    rank = np.empty(len(order), dtype=np.uint8)
    rank[order] = np.arange(len(order), dtype=np.uint8)
    pixels = np.repeat(rank[index][slots], lengths).reshape(height, width)
    return _png(pixels, palette[order].astype(np.uint8))


def _octree_png(rgba, width: int, height: int) -> bytes | None:
    """Pillow's octree palette, learnt from every 4th pixel of every 4th row, every pixel
    mapped to it; None when that is too far from the full-colour pixels."""
    rgb = Image.frombuffer("RGBA", (width, height), rgba, "raw", "RGBA", 0, 1).convert("RGB")
    sample = rgb.resize((width // 4, height // 4), Image.Resampling.NEAREST)
    palette = sample.quantize(colors=256, method=_OCTREE)
    quantized = rgb.quantize(palette=palette, dither=Image.Dither.NONE)
    if image_mean_abs_diff(rgb, quantized.convert("RGB")) > QUANTIZE_MAX_MEAN_ABS_DIFF:
        return None
    out = io.BytesIO()
    quantized.save(out, "PNG", **_PNG_SAVE)
    return out.getvalue()


@contextmanager
def _colour_table():
    with _luts_lock:
        lut = _luts.pop() if _luts else None
    if lut is None:
        lut = np.empty(1 << 24, dtype=np.uint16)
    try:
        yield lut
    finally:
        with _luts_lock:
            _luts.append(lut)


def _histogram(values: np.ndarray, lengths: np.ndarray):
    """(distinct colours as an n x 3 int16 array, pixels of each, each run's colour slot),
    or None past _MAX_COLOURS."""
    ordered = np.sort(values)
    first = np.empty(ordered.size, dtype=bool)
    first[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    distinct = ordered[first]
    if distinct.size > _MAX_COLOURS:
        return None
    keys = distinct & _RGB_MASK
    with _colour_table() as lut:
        lut[keys] = np.arange(distinct.size, dtype=np.uint16)
        slots = lut[values & _RGB_MASK]
    counts = np.bincount(slots, weights=lengths, minlength=distinct.size).astype(np.int64)
    colours = np.stack((keys & 0xFF, (keys >> 8) & 0xFF, keys >> 16), axis=1).astype(np.int16)
    return colours, counts, slots


def _l1(palette: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """|dr| + |dg| + |db| from each of m palette colours to each of n colours, both given
    channel-major (3 x m, 3 x n): m x n. This layout is ~3x faster to fill than n x m and
    its minimum over the palette (axis 0) ~30x faster to take."""
    d = np.abs(palette[0][:, None] - colours[0][None, :])
    d += np.abs(palette[1][:, None] - colours[1][None, :])
    d += np.abs(palette[2][:, None] - colours[2][None, :])
    return d


def choose_palette(colours: np.ndarray, counts: np.ndarray, n_pixels: int):
    """(palette n x 3, palette index of each colour as uint8, mean abs difference per channel).

    Every colour when there are at most 256. Else greedy: the most frequent colours, then
    in rounds the colours that cost most (pixels x distance to their palette colour),
    until the aims (_PALETTE_TARGET, the guard) are met or the palette is full.
    """
    n = len(colours)
    if n <= 256:
        return colours, np.arange(n, dtype=np.uint8), 0.0
    channels = np.ascontiguousarray(colours.T)
    chosen = np.argsort(-counts, kind="stable")[:_SEED_COLOURS]
    dist = _l1(channels[:, chosen], channels)
    best = dist.min(axis=0)
    nearest = dist.argmin(axis=0)
    target = _PALETTE_TARGET * n_pixels * 3
    guarded = counts >= _GUARD_PIXELS
    while len(chosen) < 256:
        cost = counts * best
        off = guarded & (best > _GUARD_DISTANCE)
        if not off.any() and cost.sum() <= target:
            break
        cost[off] += 1 << 40  # a guarded colour out of reach goes first
        take = min(_BATCH, 256 - len(chosen))
        new = np.argpartition(-cost, take - 1)[:take]
        new = new[cost[new] > 0]
        if new.size == 0:
            break
        dist = _l1(channels[:, new], channels)
        closest = dist.min(axis=0)
        closer = closest < best  # usually a few colours: only their argmin is needed
        nearest[closer] = len(chosen) + dist[:, closer].argmin(axis=0)
        best[closer] = closest[closer]
        chosen = np.concatenate((chosen, new))
    mad = float(counts @ best) / (n_pixels * 3)
    return colours[chosen], nearest.astype(np.uint8), mad


def _chunk(tag: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(tag))
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", crc)


def _png(pixels: np.ndarray, palette: np.ndarray) -> bytes:
    """An 8-bit indexed PNG of palette indices (height x width), every row filtered Up."""
    height, width = pixels.shape
    rows = np.empty((height, width + 1), dtype=np.uint8)
    rows[:, 0] = 2  # filter type Up: each byte minus the one above it (mod 256)
    rows[0, 1:] = pixels[0]
    np.subtract(pixels[1:], pixels[:-1], out=rows[1:, 1:])
    compressor = zlib.compressobj(*_ZLIB)
    data = compressor.compress(rows) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)  # 8-bit, indexed
    return b"".join(
        (
            _PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", palette.tobytes()),
            _chunk(b"IDAT", data),
            _chunk(b"IEND", b""),
        )
    )
