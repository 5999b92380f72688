"""seed_demo: creates the demo and admin users and funds the demo wallet once;
the admin gets a random per-installation password, never the demo one."""

import stat
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from tests.wallets.helpers import balance, ledger_invariants
from wallets.models import LedgerTransaction

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_env(monkeypatch):
    monkeypatch.setenv("DEMO_USERNAME", "demo")
    monkeypatch.setenv("DEMO_PASSWORD", "tradevision-demo")
    monkeypatch.delenv("DEMO_ADMIN_PASSWORD", raising=False)


def seed(password_file):
    call_command("seed_demo", admin_password_file=password_file)


def test_seed_demo_is_idempotent_and_the_admin_password_is_random_and_kept(demo_env, tmp_path):
    password_file = tmp_path / ".data" / "admin-password"
    seed(password_file)
    stored = password_file.read_text().strip()
    assert stat.S_IMODE(password_file.stat().st_mode) == 0o600
    assert len(stored) == 24  # 18 random bytes, URL-safe base64
    seed(password_file)
    assert password_file.read_text().strip() == stored
    users = get_user_model().objects
    demo = users.get(username="demo")
    admin = users.get(username="admin")
    assert demo.check_password("tradevision-demo")
    assert (admin.is_staff, admin.is_superuser) == (True, True)
    assert admin.check_password(stored)
    assert not admin.check_password("tradevision-demo")
    assert balance(demo) == Decimal("10000.00")
    assert LedgerTransaction.objects.filter(user=demo).count() == 1
    ledger_invariants()


def test_each_installation_gets_its_own_admin_password(demo_env, tmp_path):
    seed(tmp_path / "one")
    get_user_model().objects.filter(username="admin").delete()
    seed(tmp_path / "two")
    first, second = ((tmp_path / name).read_text().strip() for name in ("one", "two"))
    assert first != second
    assert get_user_model().objects.get(username="admin").check_password(second)


def test_admin_password_from_the_environment_writes_no_file(demo_env, monkeypatch, tmp_path):
    monkeypatch.setenv("DEMO_ADMIN_PASSWORD", "my-own-admin-secret")
    seed(tmp_path / "admin-password")
    assert not (tmp_path / "admin-password").exists()
    assert get_user_model().objects.get(username="admin").check_password("my-own-admin-secret")


def test_an_admin_left_with_the_public_demo_password_is_moved_to_a_random_one(demo_env, tmp_path):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "tradevision-demo")
    seed(tmp_path / "admin-password")
    admin = get_user_model().objects.get(username="admin")
    assert admin.check_password((tmp_path / "admin-password").read_text().strip())
    assert not admin.check_password("tradevision-demo")


def test_an_admin_password_changed_by_its_owner_is_left_alone(demo_env, tmp_path):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "chosen-by-the-owner")
    seed(tmp_path / "admin-password")
    assert get_user_model().objects.get(username="admin").check_password("chosen-by-the-owner")
    assert not (tmp_path / "admin-password").exists()
