"""Cached label bitmaps (sprites) look like the Text they replace, draw in their place among
the other artists, and stay Text in SVG."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import IdentityTransform

from charts_app.rendering import render_chart
from charts_app.rendering.sprites import Label, LabelSprites, sprite

BAND = "#fdfdd6"  # the Moderate tint the labels sit on


def pixels_with(draw_label) -> np.ndarray:
    fig = Figure(figsize=(4, 1), dpi=100, facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_facecolor(BAND)
    ax.set_axis_off()
    ax.patch.set_visible(True)
    draw_label(ax)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[:, :, :3].astype(int)


@pytest.mark.parametrize(
    "label",
    [
        Label("Unhealthy for Sensitive Groups", 390, 50, ha="right"),
        Label("WHO 24-h guideline (15 µg/m³)", 10, 40, va="bottom", color="#333333"),
        Label("Good", 200.4, 30.6, ha="right"),  # between pixels: rounded, like Text
    ],
)
def test_a_sprite_looks_like_the_text_it_replaces(label):
    as_sprite = pixels_with(lambda ax: ax.add_artist(LabelSprites([label], zorder=3)))
    as_text = pixels_with(
        lambda ax: ax.text(
            label.x,
            label.y,
            label.text,
            ha=label.ha,
            va="center_baseline" if label.va == "center" else "bottom",
            fontsize=label.fontsize,
            color=label.color,
            transform=IdentityTransform(),
            parse_math=False,
        )
    )
    background = np.array([0xFD, 0xFD, 0xD6])
    ink_a, ink_b = (np.abs(p - background).sum(axis=2) for p in (as_sprite, as_text))
    # As much ink (antialiasing differs a little at a different subpixel offset)...
    assert ink_a.sum() == pytest.approx(ink_b.sum(), rel=0.08)
    # ...in the same place, at most a pixel or two from where Text puts it.
    a, b = np.argwhere(ink_a > 60), np.argwhere(ink_b > 60)
    assert np.abs(a.min(axis=0) - b.min(axis=0)).max() <= 2
    assert np.abs(a.max(axis=0) - b.max(axis=0)).max() <= 2


def test_a_sprite_is_drawn_at_its_zorder_under_later_artists():
    label = Label("Moderate", 300, 50, ha="right")

    def draw(ax):
        ax.add_artist(LabelSprites([label], zorder=2.5))
        ax.add_line(
            Line2D(
                [0, 400], [50, 50], transform=IdentityTransform(), color="#08306b", lw=6, zorder=3
            )
        )

    row = 100 - 50  # display y 50 in a 100 px high figure
    navy = np.array([0x08, 0x30, 0x6B])
    across = pixels_with(draw)[row - 1 : row + 1, 240:300]
    assert (np.abs(across - navy).sum(axis=2) < 30).all()  # the line covers the label
    label_on_top = pixels_with(lambda ax: (draw(ax), setattr(ax.artists[0], "zorder", 4)))
    assert (np.abs(label_on_top[row - 1 : row + 1, 240:300] - navy).sum(axis=2) > 60).any()


def test_sprites_are_cached_and_read_only():
    first = sprite("Good", 8, "#222222", None)
    assert sprite("Good", 8, "#222222", None) is first
    assert not first.flags.writeable
    assert first.shape[2] == 4 and first[:, :, 3].max() == 255


def test_svg_keeps_the_labels_as_text():
    rows = [{"t": i, "pm2_5": v} for i, v in enumerate([5.0, 20.0, 40.0, 12.0])]
    svg = render_chart(data=rows, chart_type="line", fmt="svg").content.decode()
    for gid in ("aq-band-label:Good", "aq-band-label:Moderate", "aq-guideline"):
        assert f'id="{gid}' in svg
    png = render_chart(data=rows, chart_type="line", fmt="png")
    assert png.air_quality["bands_shown"] == [
        "Good",
        "Moderate",
        "Unhealthy for Sensitive Groups",
    ]
