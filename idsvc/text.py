"""Free text from people: normalised, and refused when it hides control characters."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator


def clean_text(value: str) -> str:
    """NFC, no control or format characters (but the joiners some scripts need), single
    spaces. A NUL or a bidi override has no place in a name and breaks databases and
    printouts alike."""
    value = unicodedata.normalize("NFC", value)
    if any(unicodedata.category(ch) in ("Cc", "Cf") and ch not in "\u200c\u200d" for ch in value):
        raise ValueError("must not contain control characters")
    return re.sub(r"\s+", " ", value).strip()


Text = Annotated[str, AfterValidator(clean_text)]
