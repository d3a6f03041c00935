"""Checks on the renderer's arguments that are not data: texts and column names."""

from __future__ import annotations

from core.errors import InputError

from .style import MAX_TEXT_LENGTH


def clean_text(text, field: str) -> str | None:
    if text is None:
        return None
    if not isinstance(text, str):
        raise InputError(f"{field} must be a string.", field=field)
    text = " ".join(text.split())
    if not text:
        return None
    return text if len(text) <= MAX_TEXT_LENGTH else text[: MAX_TEXT_LENGTH - 1] + "…"


def column_arg(name, field: str) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise InputError(f"{field} must be a column name (a non-empty string).", field=field)
    return name


def columns_arg(y, columns: list[str] = ()) -> list[str] | None:
    """y as a list of column names: a name, a list, or "a,b" (split unless a column is
    named exactly that, commas and all)."""
    if y is None:
        return None
    if isinstance(y, str):
        y = [y] if y in columns or "," not in y else [part.strip() for part in y.split(",")]
    if not isinstance(y, (list, tuple)) or not y:
        raise InputError("y must be a column name or a non-empty list of column names.", field="y")
    out: list[str] = []
    for name in y:
        if not isinstance(name, str) or not name:
            raise InputError(
                "y must be a column name or a non-empty list of column names.", field="y"
            )
        if name in out:
            raise InputError(f"y lists column {name!r} twice.", field="y")
        out.append(name)
    return out
