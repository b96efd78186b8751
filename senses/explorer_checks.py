"""
What a user typed into the explorer (explore.py), checked before any view reads it: a text, a
word, a number in its range. A mistake raises UserError, whose message the page shows.
"""

from __future__ import annotations

import math
import unicodedata

from common.errors import UserError

MAX_TEXT_CHARACTERS = 4000  # more than any block size of this project holds


def checked_text(text: object, what: str, allow_empty: bool = False) -> str:
    """The text a user typed, or an UserError saying why it cannot be used."""
    text = '' if text is None else str(text)
    if not allow_empty and not text.strip():
        raise UserError(f"The {what} is empty: type one.")
    if len(text) > MAX_TEXT_CHARACTERS:
        raise UserError(
            f"The {what} has {len(text):,} characters; at most "
            f"{MAX_TEXT_CHARACTERS:,} are read (the model sees far fewer tokens)."
        )
    odd = sorted({c for c in text if unicodedata.category(c) == 'Cs'})
    if odd:  # lone UTF-16 surrogates: no UTF-8 text holds them, the tokenizer cannot read them
        raise UserError(
            f"The {what} holds characters that are not valid text "
            f"({', '.join(f'U+{ord(c):04X}' for c in odd[:5])}): remove them."
        )
    return text


def checked_word(text: object, what: str = 'word') -> str:
    """One word a user typed (surrounding spaces removed), or an UserError."""
    word = checked_text(text, what).strip()
    if len(word.split()) > 1:
        raise UserError(
            f"The {what} {word!r} is several words: type one word (its senses are those of its tokens)."
        )
    return word


def checked_number(
    value: object, what: str, integer: bool = False, low: float | None = None, high: float | None = None
) -> int | float:
    """A number from the page (a text field or a number field), checked against its range."""
    try:
        number = float(str(value).strip()) if value is not None else math.nan
    except ValueError:
        raise UserError(f"The {what} {str(value)!r} is not a number.")
    if not math.isfinite(number) or (integer and number != int(number)):
        raise UserError(f"The {what} {value!r} is not {'a whole' if integer else 'a finite'} number.")
    number = int(number) if integer else number
    if (low is not None and number < low) or (high is not None and number > high):
        raise UserError(f"The {what} is {number}: choose one from {low} to {high}.")
    return number
