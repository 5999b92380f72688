"""The kernel every app imports: domain error types (`errors`), the strict
JSON parser (`parsers`), the API exception handler (`exceptions`), the schema
class (`openapi`) and idempotency (`idempotency`). It imports no app and not
`config`, so importing an error type starts no Celery app and reads no
settings module (docs/architecture.md, "The kernel")."""
