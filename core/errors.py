"""The root of the project's error types. Services raise these; edges map them
(`core.exceptions` for the API, forms for pages, task code for Celery)."""


class DomainError(Exception):
    """A refusal by a business rule. `code` is stable and machine-readable."""

    code = "error"
    http_status = 400

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
