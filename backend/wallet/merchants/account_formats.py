"""Billers' account-number formats in words: the regular expression a biller's account
numbers match ("[0-9]{8}"), said the way a form says it ("8 digits"), so that people
are told the format before they type and when what they typed does not fit."""

from __future__ import annotations

import re

# Character classes people know by name; anything else is not described.
_CLASSES = {
    r"[0-9]": ("digit", "digits"),
    r"\d": ("digit", "digits"),
    r"[A-Z]": ("capital letter", "capital letters"),
    r"[a-z]": ("lowercase letter", "lowercase letters"),
    r"[A-Za-z]": ("letter", "letters"),
    r"[a-zA-Z]": ("letter", "letters"),
    r"[A-Z0-9]": ("capital letter or digit", "capital letters or digits"),
    r"[0-9A-Z]": ("capital letter or digit", "capital letters or digits"),
    r"[A-Za-z0-9]": ("letter or digit", "letters or digits"),
    r"[a-zA-Z0-9]": ("letter or digit", "letters or digits"),
}
_TOKEN = re.compile(
    r"(?:(?P<cls>\[(?:0-9|A-Z|a-z|A-Za-z|a-zA-Z|A-Z0-9|0-9A-Z|A-Za-z0-9|a-zA-Z0-9)\]|\\d)"
    r"|(?P<literal>\\[-./ ]|[-/ A-Z]))"
    r"(?P<count>\{\d+\}|\{\d+,\d+\}|\?)?"
)


def _amount(count: str) -> str:
    low, _, high = count.strip("{}").partition(",")
    return f"{low} to {high}" if high else low


def describe(pattern: str) -> str | None:
    """The format in words ("8 digits", "2 capital letters, then 6 digits", "4 to 10
    digits", '"AC", then 6 digits'), or None for a pattern too clever to say simply."""
    body = pattern.removeprefix("^").removesuffix("$")
    parts: list[str] = []
    literal = ""  # consecutive literal characters, said together
    at = 0

    def flush() -> None:
        nonlocal literal
        if literal:
            parts.append("a space" if literal == " " else f'"{literal}"')
            literal = ""

    while at < len(body):
        token = _TOKEN.match(body, at)
        if token is None:
            return None
        at = token.end()
        count = token["count"] or ""
        if token["literal"]:
            char = token["literal"].removeprefix("\\")
            if count == "?":
                flush()
                parts.append("an optional space" if char == " " else f'an optional "{char}"')
            elif count:
                return None
            else:
                literal += char
            continue
        flush()
        one, many = _CLASSES[token["cls"]]
        if count == "?":
            parts.append(f"an optional {one}")
        else:
            amount = _amount(count) if count else "1"
            parts.append(f"{amount} {one if amount == '1' else many}")
    flush()
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + ", then " + parts[-1]
