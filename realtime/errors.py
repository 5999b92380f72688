"""Error types of the realtime app (subclasses of `core.errors.DomainError`)."""

from core.errors import DomainError


class EventInvalid(DomainError):
    """`publish` was given an unknown event name or data that does not match
    the event's registered schema. A programming error in the caller: the
    caller's transaction should roll back with it."""

    code = "event_invalid"
    http_status = 500


class PublishOutsideTransaction(DomainError):
    """`publish` was called outside `transaction.atomic()`: the event row and
    the change it describes would not commit together."""

    code = "publish_outside_transaction"
    http_status = 500
