"""What "no control characters" means, once: for serializers, page forms,
query filters and the schema's patterns alike.

Control characters (Unicode category Cc) are refused in text, but tab,
newline and carriage return: PostgreSQL text cannot hold NUL, and the others
are invisible in every page and log that shows the value. The patterns say
the same in the schema, written as `\\uXXXX`, which ECMA and Python regexes
read alike.
"""

import unicodedata

_ALLOWED_CONTROLS = frozenset("\t\n\r")
_CONTROL = "\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f"
ALLOWED_CHARACTER = f"[^{_CONTROL}]"
# Text of allowed characters only (the schema's pattern of a text field).
TEXT_PATTERN = f"^{ALLOWED_CHARACTER}*$"


def has_control_characters(text: str) -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in _ALLOWED_CONTROLS for c in text)
