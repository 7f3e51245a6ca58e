"""What must never reach the person an AML case is about (tipping off).

Operators write some of what customers read (why a verification was refused, what more
is needed). A text that names AML, sanctions, a report or an investigation would tell a
suspect they are suspected, which is an offence; such texts are refused before they are
sent.
"""

from __future__ import annotations

import re

# Words that reveal an AML concern. "case" alone is too common ("in case...") to refuse.
_REVEALING = re.compile(
    r"\b(?:sanction(?:s|ed)?|aml|anti[- ]?money|money[- ]?launder\w*|launder\w*|sars?|"
    r"suspicious|watch[- ]?lists?|black[- ]?list\w*|ofac|ofsi|embargo\w*|"
    r"terroris\w*|investigat\w*|aml[- ]?case|compliance[- ]?case|financial crime\w*)\b",
    re.IGNORECASE,
)


def reveals_aml(text: str) -> bool:
    """Whether `text` would tell its reader about an AML concern."""
    return _REVEALING.search(text) is not None
