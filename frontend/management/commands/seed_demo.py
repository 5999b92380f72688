"""`manage.py seed_demo`: the demo user with a funded wallet, and an admin.

Idempotent: users are created only if missing (an existing user's password
is left alone), and the deposit uses a fixed idempotency key, so a re-run
returns the first deposit instead of funding the wallet again.

The demo user's password is known on purpose (`DEMO_PASSWORD`, default
`tradevision-demo`): it is a paper-money account meant to be tried. The
superuser `admin` is not: its password is `DEMO_ADMIN_PASSWORD` if set, else
a random one generated on the first seed of this installation and kept in
`.data/admin-password` (mode 0600, git-ignored), which `./dev.py run` prints
and later seeds reuse. An `admin` still holding the demo password (as seeds
before this one left it) is moved to the installation's own password.
"""

import os
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser
from django.db import transaction

from wallets.services import wallet_deposit

DEMO_FUNDING = Decimal("10000.00")
DEMO_FUNDING_KEY = "seed-demo-initial-funding"
ADMIN_USERNAME = "admin"


def admin_password_file() -> Path:
    return Path(settings.BASE_DIR) / ".data" / "admin-password"


def admin_password(path: Path) -> str:
    """`DEMO_ADMIN_PASSWORD`, else this installation's stored random password,
    generated (and stored, readable by the owner only) on first use."""
    configured = os.environ.get("DEMO_ADMIN_PASSWORD")
    if configured:
        return configured
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    password = secrets.token_urlsafe(18)
    # O_EXCL: two seeds racing cannot both write; the loser reads the winner's.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(password + "\n")
    return password


class Command(BaseCommand):
    help = (
        "Create the demo user (funded with 10,000.00 USD) and the admin user (random password "
        "in .data/admin-password unless DEMO_ADMIN_PASSWORD is set); safe to re-run."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--admin-password-file",
            type=Path,
            default=None,
            help="where the generated admin password is kept (default: .data/admin-password)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        username = os.environ.get("DEMO_USERNAME", "demo")
        password = os.environ.get("DEMO_PASSWORD", "tradevision-demo")
        password_file = options["admin_password_file"] or admin_password_file()
        users = get_user_model().objects
        with transaction.atomic():
            demo, created = users.get_or_create(
                username=username, defaults={"email": f"{username}@example.com"}
            )
            if created:
                demo.set_password(password)
                demo.save(update_fields=["password"])
            admin, admin_created = users.get_or_create(
                username=ADMIN_USERNAME,
                defaults={"email": "admin@example.com", "is_staff": True, "is_superuser": True},
            )
            admin_state = "created" if admin_created else "exists"
            if admin_created or admin.check_password(password):
                admin.set_password(admin_password(password_file))
                admin.save(update_fields=["password"])
                admin_state = "created" if admin_created else "given its own password"
        wallet_deposit(user=demo, amount=DEMO_FUNDING, currency="USD", idempotency_key=DEMO_FUNDING_KEY)
        source = "DEMO_ADMIN_PASSWORD" if os.environ.get("DEMO_ADMIN_PASSWORD") else str(password_file)
        self.stdout.write(
            f"demo user {username!r} {'created' if created else 'exists'} and funded with "
            f"{DEMO_FUNDING} USD (once); admin user {admin_state} (password: {source})"
        )
