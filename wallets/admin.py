"""Admin for the ledger: staff can see everything; history cannot be edited.

Entries and ledger transactions are read-only and cannot be deleted here (the
database refuses it anyway); money moves only through the services, so the
admin offers no add form for them either. Drift records are read-only too.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from wallets.models import Account, BalanceDrift, Entry, LedgerTransaction, WithdrawalRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class EntryInline(admin.TabularInline):
    model = Entry
    fields = ["account", "amount"]
    readonly_fields = ["account", "amount"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["id", "owner", "currency", "kind", "shard", "balance", "created_at"]
    list_filter = ["currency", "kind"]
    search_fields = ["owner__username"]
    list_select_related = ["owner"]


@admin.register(LedgerTransaction)
class LedgerTransactionAdmin(ReadOnlyAdmin):
    list_display = ["id", "user", "kind", "currency", "amount", "reference", "created_by", "created_at"]
    list_filter = ["kind", "currency"]
    search_fields = ["user__username", "reference", "idempotency_key"]
    date_hierarchy = "created_at"
    inlines = [EntryInline]
    list_select_related = ["user", "created_by"]


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "transaction", "account", "amount"]
    list_filter = ["account__currency", "account__kind"]
    search_fields = ["account__owner__username"]
    list_select_related = ["transaction", "account"]


@admin.register(WithdrawalRequest)
class WithdrawalRequestAdmin(ReadOnlyAdmin):
    """Decisions go through the API (`/api/v1/wallets/withdrawals/<id>/approve/`),
    which moves the money in the same transaction as the status."""

    list_display = ["id", "user", "currency", "amount", "status", "decided_by", "created_at", "decided_at"]
    list_filter = ["status", "currency"]
    search_fields = ["user__username"]


@admin.register(BalanceDrift)
class BalanceDriftAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "account", "currency", "expected", "found", "repaired", "detected_at"]
    list_filter = ["kind", "repaired", "currency"]
