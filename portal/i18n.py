"""Marking strings for translation where they are defined but translated later, at display time."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark `message` for extraction (`pybabel extract -k N_`); templates translate it with `_()`."""
    return message
