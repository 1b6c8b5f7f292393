"""How duplicate detection compares names and e-mail addresses (pure functions)."""

from __future__ import annotations

import re
import unicodedata

# Company forms that do not tell two companies apart ("Contoso Ltd." is "Contoso").
LEGAL_SUFFIXES = frozenset(
    {
        "ab", "ag", "as", "bv", "co", "company", "corp", "corporation", "gmbh", "inc",
        "incorporated", "kg", "kk", "limited", "llc", "llp", "ltd", "nv", "oy", "plc", "pty",
        "sa", "sarl", "sas", "sasu", "spa", "srl",
    }
)  # fmt: skip
_WORD_SEPARATORS = re.compile(r"[\s\-/,;:&+|]+")


def company_key(name: str) -> str:
    """A company name reduced to what identifies it: case-folded, accents and punctuation
    removed, legal suffixes dropped ("Contoso, Ltd." and "CONTOSO LTD" give "contoso").

    A name made only of a legal form keeps it ("SA" stays "sa"), so it still matches itself.
    """
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    words = [_letters(word) for word in _WORD_SEPARATORS.split(plain)]
    words = [word for word in words if word]
    while len(words) > 1 and words[-1] in LEGAL_SUFFIXES:
        words.pop()
    return "".join(words)


def _letters(word: str) -> str:
    # "A.C.M.E." is "acme"; "O'Brien" is "obrien".
    return "".join(c for c in word if c.isalnum())


def email_key(email: str) -> str:
    """An e-mail address as duplicate detection compares it (case does not matter)."""
    return email.strip().casefold()
