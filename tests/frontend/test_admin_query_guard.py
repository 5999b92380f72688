"""Control characters in the admin's query parameters are the site's 400
page, for every filter of every registered ModelAdmin (issue 11, H3):
PostgreSQL text cannot hold NUL, and a changelist filter such as
`status__exact=%00` reached it as a DataError, a 500."""

from urllib.parse import quote

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.urls import reverse

from ops.requestid import HEADER
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

VALUES = ["\x00", "ab\x00cd", "\x07", "ab\x1bcd", "\x7f"]


def _filter_parameters(model_admin: admin.ModelAdmin, superuser) -> list[str]:
    """The query parameters the changelist's own filters read (what its
    sidebar links set: `status__exact`, `instrument__id__exact`, `currency`,
    ...), and `<field>__exact` for every field of `list_filter`."""
    request = RequestFactory().get("/")
    request.user = superuser
    changelist = model_admin.get_changelist_instance(request)
    names = [name for spec in changelist.filter_specs for name in spec.expected_parameters()]
    for entry in model_admin.get_list_filter(request):
        field = entry[0] if isinstance(entry, (tuple, list)) else entry
        if isinstance(field, str):
            names.append(f"{field}__exact")
    return list(dict.fromkeys(names))


def _registered() -> list[admin.ModelAdmin]:
    return sorted(admin.site._registry.values(), key=lambda a: a.model._meta.label)


@pytest.fixture
def superuser():
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def staff_client(superuser) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    return client


def test_the_walk_reaches_the_filters_the_probe_found(superuser):
    found = {(a.model._meta.label, name) for a in _registered() for name in _filter_parameters(a, superuser)}
    assert {
        ("trading.Trade", "status__exact"),
        ("trading.Trade", "side__exact"),
        ("trading.Trade", "source__exact"),
        ("trading.Plan", "status__exact"),
        ("trading.Plan", "strategy__exact"),
        ("wallets.Account", "kind__exact"),
        ("wallets.Entry", "account__kind__exact"),
        ("wallets.Entry", "account__currency__exact"),
        ("wallets.WithdrawalRequest", "status__exact"),
        ("wallets.LedgerTransaction", "kind__exact"),
        ("market.Instrument", "asset_class__exact"),
        ("market.Instrument", "calendar__exact"),
        ("market.Instrument", "feed_source__exact"),
    } <= found


@pytest.mark.parametrize("model_admin", _registered(), ids=lambda a: a.model._meta.label)
def test_every_list_filter_with_a_control_character_is_the_sites_400(staff_client, superuser, model_admin):
    meta = model_admin.model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    parameters = _filter_parameters(model_admin, superuser)
    if model_admin.search_fields:
        parameters.append("q")
    for name in parameters:
        for value in VALUES:
            response = staff_client.get(f"{url}?{quote(name)}={quote(value)}")
            assert response.status_code == 400, (url, name, repr(value), response.status_code)
            html = response.content.decode()
            assert "Bad request" in html and "A query parameter contains a control character." in html
            assert response[HEADER] in html
        # The same filter with a plain value is the admin's own answer.
        response = staff_client.get(f"{url}?{quote(name)}=x")
        assert response.status_code in (200, 302), (url, name, response.status_code)


def test_a_control_character_in_a_parameter_name_or_any_admin_view(staff_client):
    for url in (
        "/admin/trading/trade/?st%00atus__exact=open",
        "/admin/autocomplete/?term=%00&app_label=trading&model_name=trade&field_name=instrument",
        "/admin/?x=%00",
    ):
        response = staff_client.get(url)
        assert response.status_code == 400, url


def test_tab_newline_and_text_pass_through_to_the_admin(staff_client):
    response = staff_client.get("/admin/trading/trade/?q=a%09b%0Ac")
    assert response.status_code == 200


def test_the_guard_is_the_admins_only(client):
    # Elsewhere the API names the parameter (tests/fuzz), a page is its own.
    response = client.get("/accounts/login/?next=%00")
    assert response.status_code == 200
