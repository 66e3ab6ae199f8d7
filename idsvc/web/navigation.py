"""Where a page may send the browser next: only back into this site."""

from __future__ import annotations


def safe_next(target: str | None, default: str = "/") -> str:
    """A local path, never another site (`//evil`, `https://...`, `\\\\evil`)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\r\n\\"):
        return default
    return target
