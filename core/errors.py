"""The root of the project's error types. Services raise these; edges map them
(`core.exceptions` for the API, forms for pages, task code for Celery).

The API's two refusals of input (docs/api.md, "Errors"):

- 400: the request breaks a rule the OpenAPI schema states (a type, format,
  bound, enum, required or unknown field, the `Idempotency-Key` header). The
  serializers and parameter checks answer these, before any service runs.
- 422 (`DomainError`'s default): the request matches the schema, and a
  business rule refuses it: one the schema cannot state, because it depends
  on the state of the platform (an unknown instrument, the instrument's stake
  and duration limits, the balance, a key used before, the credentials) or
  relates fields (`end` before `start`).

A domain error that restates a schema rule for callers that bypass the
serializers (a money amount, a currency, a key) keeps 400.
"""


class DomainError(Exception):
    """A refusal by a business rule. `code` is stable and machine-readable."""

    code = "error"
    http_status = 422

    def __init__(self, message: str = "", *, field: str | None = None, code: str | None = None):
        super().__init__(message or self.code)
        self.message = message or self.code
        self.field = field
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    http_status = 404


class Conflict(DomainError):
    """The same idempotency key with other parameters, or a state that forbids the action."""

    code = "conflict"
    http_status = 409


class IdempotencyMismatch(DomainError):
    code = "idempotency_key_reused"
    http_status = 422


class InputInvalid(DomainError):
    """Input that breaks a rule the schema states, found by a service (its
    callers are not only the serializers): a 400 like the serializers'."""

    code = "invalid"
    http_status = 400
