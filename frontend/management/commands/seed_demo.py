"""`manage.py seed_demo`: the demo user with a funded wallet, and an admin.

Idempotent: users are created only if missing (an existing user's password
is left alone), and the deposit uses a fixed idempotency key, so a re-run
returns the first deposit instead of funding the wallet again.
"""

import os
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from wallets.services import wallet_deposit

DEMO_FUNDING = Decimal("10000.00")
DEMO_FUNDING_KEY = "seed-demo-initial-funding"


class Command(BaseCommand):
    help = "Create the demo user (funded with 10,000.00 USD) and the admin user; safe to re-run."

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("DEMO_USERNAME", "demo")
        password = os.environ.get("DEMO_PASSWORD", "tradevision-demo")
        users = get_user_model().objects
        with transaction.atomic():
            demo, created = users.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if created:
                demo.set_password(password)
                demo.save(update_fields=["password"])
            admin, admin_created = users.get_or_create(
                username="admin",
                defaults={"email": "admin@example.com", "is_staff": True, "is_superuser": True},
            )
            if admin_created:
                admin.set_password(password)
                admin.save(update_fields=["password"])
        wallet_deposit(user=demo, amount=DEMO_FUNDING, currency="USD", idempotency_key=DEMO_FUNDING_KEY)
        self.stdout.write(
            f"demo user {username!r} {'created' if created else 'exists'} and funded with "
            f"{DEMO_FUNDING} USD (once); admin user {'created' if admin_created else 'exists'}"
        )
