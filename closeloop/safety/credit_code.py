"""The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from a 31-letter
alphabet (no I, O, S, V, Z), the last a check character computed from the first 17."""

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def check_character(first17: str) -> str:
    """The check character for the first 17 characters (which must be in the alphabet)."""
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def problem(code: str) -> str | None:
    """None for a valid code; otherwise what is wrong with it, in English (callers word it)."""
    if len(code) != 18:
        return f"has {len(code)} characters; a unified social credit code has 18"
    bad = sorted({c for c in code if c not in ALPHABET})
    if bad:
        return f"contains {''.join(bad)!r}; only digits and capitals other than I O S V Z are used"
    expected = check_character(code[:17])
    if code[17] != expected:
        return f"check character is {code[17]}, but the first 17 characters give {expected}"
    return None
