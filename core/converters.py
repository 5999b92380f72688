"""Path converters that only match what the database can hold (issue 11).

Django's `int` takes any number of digits, and a 40-digit id reached
PostgreSQL as "bigint out of range" (a 500); `str` takes NUL and control
characters, which PostgreSQL text cannot hold. A path these refuse is
Django's 404, as for any URL that matches no route.

- `id`: 1 to 18 ASCII digits (every value fits a `bigint`);
- `symbol`: an instrument symbol: 1 to 20 (the column's length) visible
  ASCII characters, no slash.

`register()` is idempotent; each URL module that uses them calls it (Django
warns when a converter name is registered twice). The schema states the same
bounds (`PATH_CONVERTER_OVERRIDES` in `SPECTACULAR_SETTINGS`, `SCHEMA`).
"""

from django.urls.converters import REGISTERED_CONVERTERS, register_converter

ID_MAX_DIGITS = 18
SYMBOL_MAX_LENGTH = 20


class IdConverter:
    regex = rf"[0-9]{{1,{ID_MAX_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


class SymbolConverter:
    regex = rf"[!-.0-~]{{1,{SYMBOL_MAX_LENGTH}}}"  # printable ASCII but "/" (and space)

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


# What the OpenAPI schema says of each (drf-spectacular's PATH_CONVERTER_OVERRIDES).
SCHEMA = {
    "id": {"type": "integer", "minimum": 0, "maximum": 10**ID_MAX_DIGITS - 1},
    "symbol": {
        "type": "string",
        "pattern": rf"^{SymbolConverter.regex}$",
        "minLength": 1,
        "maxLength": SYMBOL_MAX_LENGTH,
    },
}


def register() -> None:
    for name, converter in (("id", IdConverter), ("symbol", SymbolConverter)):
        if name not in REGISTERED_CONVERTERS:
            register_converter(converter, name)
