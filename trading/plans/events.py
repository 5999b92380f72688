"""The plan.* events: their schema and the function that publishes them.

Every plan.* event carries the full plan (`PlanSerializer`). Registered with
`realtime.schemas` in `TradingConfig.ready`.
"""

from __future__ import annotations

from realtime import schemas
from realtime.publish import publish
from trading.plans.models import Plan
from trading.plans.serializers import PlanSerializer, plan_data

PLAN_EVENTS = (schemas.PLAN_STARTED, schemas.PLAN_MATURED)


def plan_events_register() -> None:
    for event in PLAN_EVENTS:
        schemas.register(event, PlanSerializer)


def plan_publish(plan: Plan, event: str) -> None:
    """Precondition: inside the transaction that changed the plan."""
    publish(user_id=plan.user_id, event=event, data=plan_data(plan))
