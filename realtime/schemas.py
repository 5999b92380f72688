"""Event names and the registry of their schemas.

The event names are part of the contract (docs/architecture.md, "Events").
The app that owns an event's data registers its schema at start-up
(`register` in its AppConfig.ready), so realtime stores and moves events without importing trading or wallets:

- a DRF serializer class: the data must carry exactly the serializer's
  readable fields (the full current object, never a diff);
- a dataclass: the data must build it (`schema(**data)`), i.e. carry every
  required field and no unknown one.

`publish` calls `event_data_validate`, which also turns the data into plain
JSON values: Decimal becomes its exact string, datetimes ISO 8601, UUIDs
strings; a float anywhere is refused (money is never a float).
"""

import dataclasses
import datetime as dt
import functools
import uuid
from decimal import Decimal
from typing import Any

from rest_framework import serializers

from realtime.errors import EventInvalid

TRADE_QUEUED = "trade.queued"
TRADE_OPENED = "trade.opened"
TRADE_RETRYING = "trade.retrying"
TRADE_REJECTED = "trade.rejected"
TRADE_FAILED = "trade.failed"
TRADE_CANCELLED = "trade.cancelled"
TRADE_SETTLED = "trade.settled"
WALLET_BALANCE = "wallet.balance"
PLAN_STARTED = "plan.started"
PLAN_MATURED = "plan.matured"
NOTIFICATION = "notification"

# Topics of `notification` events that listeners act on (NotificationData.topic).
TOPIC_WITHDRAWAL_DECIDED = "withdrawal.decided"

EVENT_NAMES: tuple[str, ...] = (
    TRADE_QUEUED,
    TRADE_OPENED,
    TRADE_RETRYING,
    TRADE_REJECTED,
    TRADE_FAILED,
    TRADE_CANCELLED,
    TRADE_SETTLED,
    WALLET_BALANCE,
    PLAN_STARTED,
    PLAN_MATURED,
    NOTIFICATION,
)

_registry: dict[str, Any] = {}


@dataclasses.dataclass(frozen=True)
class NotificationData:
    """A message for the user that belongs to no other object."""

    title: str
    body: str
    level: str = "info"  # info | success | warning | error
    # What the message is about, for listeners that act on some kinds only
    # (e.g. "withdrawal.decided" for a push); "" for a plain message, and
    # then left out of the data.
    topic: str = ""

    LEVELS = ("info", "success", "warning", "error")

    def __post_init__(self) -> None:
        if not isinstance(self.title, str) or not isinstance(self.body, str):
            raise TypeError("title and body must be strings")
        if self.level not in self.LEVELS:
            raise ValueError(f"level must be one of {', '.join(self.LEVELS)}")
        if not isinstance(self.topic, str) or len(self.topic) > 50:
            raise ValueError("topic must be a string of at most 50 characters")


def register(event: str, schema: Any) -> None:
    """Register the schema (serializer class or dataclass) of one event name."""
    if event not in EVENT_NAMES:
        raise EventInvalid(f"unknown event name {event!r}", field="event")
    is_serializer = isinstance(schema, type) and issubclass(schema, serializers.BaseSerializer)
    if not (is_serializer or dataclasses.is_dataclass(schema)):
        raise TypeError("an event schema is a DRF serializer class or a dataclass")
    _registry[event] = schema


def schema_for(event: str) -> Any:
    try:
        return _registry[event]
    except KeyError:
        raise EventInvalid(f"no schema registered for event {event!r}", field="event") from None


def registered_events() -> list[str]:
    return [name for name in EVENT_NAMES if name in _registry]


_PLAIN = (str, bool, int)  # exactly these types, not subclasses (an IntEnum goes the long way)


def json_native(value: Any, *, path: str = "data") -> Any:
    """`value` as JSON-native types; Decimal → exact string; float refused."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        raise EventInvalid(f"{path} is a float; send money and prices as Decimal", field=path)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise EventInvalid(f"{path} is not a finite number", field=path)
        return str(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):
        # Plain values are kept as they are without building their path (a
        # trade event has 27 fields, a settlement batch 500 events).
        return {
            str(k): v if v is None or type(v) in _PLAIN else json_native(v, path=f"{path}.{k}")
            for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [json_native(v, path=f"{path}[{i}]") for i, v in enumerate(value)]
    raise EventInvalid(f"{path} has a type JSON cannot carry: {type(value).__name__}", field=path)


@functools.cache
def _readable_fields(serializer_class: type[serializers.Serializer]) -> frozenset[str]:
    """The names a serializer schema's data must carry. Built once per class:
    a serializer instance deep-copies its declared fields (a settlement batch
    validates one `wallet.balance` per user)."""
    return frozenset(name for name, field in serializer_class().fields.items() if not field.write_only)


def event_data_validate(*, event: str, data: dict[str, Any]) -> dict[str, Any]:
    """Check `data` against the schema registered for `event`; return it as JSON values."""
    if event not in EVENT_NAMES:
        raise EventInvalid(f"unknown event name {event!r}", field="event")
    schema = schema_for(event)
    if not isinstance(data, dict):
        raise EventInvalid("event data must be an object", field="data")
    if dataclasses.is_dataclass(schema):
        try:
            schema(**data)  # type: ignore[operator]  # a dataclass type, not an instance
        except (TypeError, ValueError) as exc:
            raise EventInvalid(f"{event} data does not match its schema: {exc}", field="data") from exc
    else:
        readable = _readable_fields(schema)
        if set(data) != readable:
            missing = sorted(readable - set(data))
            unknown = sorted(set(data) - readable)
            raise EventInvalid(
                f"{event} data does not match its schema (missing {missing}, unknown {unknown})",
                field="data",
            )
    return json_native(data)


def notification_data(*, title: str, body: str, level: str = "info", topic: str = "") -> dict[str, Any]:
    data = dataclasses.asdict(NotificationData(title=title, body=body, level=level, topic=topic))
    if not topic:
        del data["topic"]  # a plain message keeps the shape it always had
    return data
