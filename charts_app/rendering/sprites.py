"""Artists that write straight into Agg's pixel buffer, for what every air-quality chart
draws the same way:

- short fixed labels as cached bitmaps: a matplotlib Text costs ~1.5 ms a draw (font
  layout and glyph rendering every time); the same label blended in from a cache ~20 µs
  (the band names and the guideline label);
- opaque bands across the axes: slices of the buffer filled, a 32-bit word per pixel
  (~0.1 ms for the category bands, where a PolyCollection of them costs ~0.4 ms a draw).

Each draws at its zorder among the Axes' other artists, so what is drawn after it goes
over it. Where there is no pixel buffer (SVG) they draw real Text and paths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from matplotlib import colors as mcolors
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.transforms import IdentityTransform, blended_transform_factory

from .style import FIG_DPI


@dataclass(frozen=True)
class Label:
    """A label at a display position (pixels from the figure's lower left)."""

    text: str
    x: float
    y: float
    ha: str = "left"  # left, right: which end of the label is at x
    va: str = "center"  # center, bottom: which part of the label is at y
    fontsize: float = 8
    color: str = "#222222"
    backdrop: str | None = None  # a colour behind the text (#rrggbbaa), for readability
    gid: str | None = None


@lru_cache(maxsize=256)
def sprite(text: str, fontsize: float, color: str, backdrop: str | None) -> np.ndarray:
    """The label as Agg draws it, cropped to its ink (+1 px), straight RGBA, read-only."""
    fig = Figure(figsize=(8, 1), dpi=FIG_DPI, facecolor="none")
    kwargs = {}
    if backdrop:
        kwargs["bbox"] = {"boxstyle": "square,pad=0.2", "facecolor": backdrop, "linewidth": 0}
    fig.text(0.02, 0.3, text, fontsize=fontsize, color=color, parse_math=False, **kwargs)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    pixels = np.asarray(canvas.buffer_rgba())
    rows = np.flatnonzero(pixels[:, :, 3].any(axis=1))
    cols = np.flatnonzero(pixels[:, :, 3].any(axis=0))
    top, bottom = max(rows[0] - 1, 0), min(rows[-1] + 2, pixels.shape[0])
    left, right = max(cols[0] - 1, 0), min(cols[-1] + 2, pixels.shape[1])
    out = np.array(pixels[top:bottom, left:right])
    out.flags.writeable = False
    return out


def origin(label: Label, h: int, w: int, height: int) -> tuple[int, int]:
    """(row, column) of an h x w sprite's top left in a buffer `height` pixels high."""
    left = label.x - w if label.ha == "right" else label.x
    bottom = label.y - h / 2 if label.va == "center" else label.y
    return int(round(height - (bottom + h))), int(round(left))


def blend(pixels: np.ndarray, image: np.ndarray, row: int, col: int) -> None:
    """Alpha-blend a straight-RGBA image into an opaque RGBA buffer, clipped to it."""
    h, w = image.shape[:2]
    r0, c0 = max(row, 0), max(col, 0)
    r1, c1 = min(row + h, pixels.shape[0]), min(col + w, pixels.shape[1])
    if r0 >= r1 or c0 >= c1:
        return
    src = image[r0 - row : r1 - row, c0 - col : c1 - col].astype(np.float32)
    dst = pixels[r0:r1, c0:c1, :3].astype(np.float32)
    alpha = src[:, :, 3:4] / 255.0
    pixels[r0:r1, c0:c1, :3] = np.rint(src[:, :, :3] * alpha + dst * (1.0 - alpha))


class BufferArtist(Artist):
    """Draws into Agg's RGBA pixel buffer (`draw_pixels`) when the renderer has one, else
    through the renderer's vector calls (`draw_vector`), at its zorder."""

    def draw(self, renderer) -> None:
        if not self.get_visible():
            return
        buffer = getattr(renderer, "buffer_rgba", None)
        if buffer is None:
            self.draw_vector(renderer)
        else:
            self.draw_pixels(np.asarray(buffer()))
        self.stale = False

    def draw_pixels(self, pixels: np.ndarray) -> None:
        raise NotImplementedError

    def draw_vector(self, renderer) -> None:
        raise NotImplementedError


class LabelSprites(BufferArtist):
    """Labels drawn from the sprite cache into the Agg buffer (Text elsewhere)."""

    def __init__(self, labels: list[Label], *, zorder: float):
        super().__init__()
        self.labels = labels
        self.set_zorder(zorder)

    def draw_pixels(self, pixels: np.ndarray) -> None:
        for label in self.labels:
            image = sprite(label.text, label.fontsize, label.color, label.backdrop)
            row, col = origin(label, *image.shape[:2], pixels.shape[0])
            blend(pixels, image, row, col)

    def draw_vector(self, renderer) -> None:
        for label in self.labels:
            bbox = None
            if label.backdrop:
                bbox = {"boxstyle": "square,pad=0.2", "facecolor": label.backdrop, "linewidth": 0}
            text = Text(
                label.x,
                label.y,
                label.text,
                ha=label.ha,
                va=label.va,
                fontsize=label.fontsize,
                color=label.color,
                transform=IdentityTransform(),
                parse_math=False,
                bbox=bbox,
                gid=label.gid,
            )
            text.set_figure(self.get_figure(root=True))
            text.draw(renderer)


@dataclass(frozen=True)
class Band:
    """An opaque band across the axes' width, from `bottom` to `top` in data units."""

    name: str
    bottom: float
    top: float
    color: str  # #rrggbb


class BandFills(BufferArtist):
    """Bands filled into the Agg buffer's rows (paths elsewhere), clipped to the axes.

    Without anti-aliasing, as Agg fills a rectangle: a pixel is inside when its centre is.
    """

    def __init__(self, bands: list[Band], *, zorder: float, gid: str):
        super().__init__()
        self.bands = bands
        self.set_zorder(zorder)
        self.set_gid(gid)

    def draw_pixels(self, pixels: np.ndarray) -> None:
        # One 32-bit word per pixel (bytes R, G, B, A): a band is one fill of a 2-D slice.
        words = pixels.view("<u4")[:, :, 0]
        height = words.shape[0]
        box = self.axes.bbox

        def first_row(y: float) -> int:  # rows count down from the top
            return max(0, math.ceil(height - y - 0.5))

        c0, c1 = math.ceil(box.x0 - 0.5), math.ceil(box.x1 - 0.5)
        lowest, highest = first_row(box.y0), first_row(box.y1)
        to_px = self.axes.transData.transform
        for band in self.bands:
            y_bottom, y_top = to_px([(0.0, band.bottom), (0.0, band.top)])[:, 1]
            r0, r1 = max(first_row(y_top), highest), min(first_row(y_bottom), lowest)
            if r0 < r1:
                words[r0:r1, c0:c1] = _opaque_word(band.color)

    def draw_vector(self, renderer) -> None:
        edge = blended_transform_factory(self.axes.transAxes, self.axes.transData)
        renderer.open_group(self.get_gid(), gid=self.get_gid())
        for band in self.bands:
            gc = renderer.new_gc()
            gc.set_clip_rectangle(self.axes.bbox)
            gc.set_linewidth(0)
            gc.set_antialiased(False)
            b, t = band.bottom, band.top
            path = Path([(0, b), (1, b), (1, t), (0, t), (0, b)], closed=True)
            renderer.open_group(self.get_gid(), gid=f"{self.get_gid()}:{band.name}")
            renderer.draw_path(gc, path, edge, mcolors.to_rgb(band.color))
            renderer.close_group(self.get_gid())
            gc.restore()
        renderer.close_group(self.get_gid())


@lru_cache(maxsize=64)
def _opaque_word(color: str) -> int:
    """The colour, opaque, as the little-endian 32-bit word of an RGBA pixel."""
    r, g, b = (round(c * 255) for c in mcolors.to_rgb(color))
    return r | g << 8 | b << 16 | 0xFF << 24
