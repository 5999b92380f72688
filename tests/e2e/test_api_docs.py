"""Staff API docs in a real Chromium against daphne: the nav's API link opens
the API root, Swagger UI at /api/v1/docs/ renders the operations (it was
blank when its files came from a CDN) and ReDoc renders too, and no request
of any of these pages goes to another host."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import login_session, shot
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def watch_hosts(page):
    """Every request the page makes, as (host, url), and the URLs the browser
    itself refused to fetch under the page's Content-Security-Policy."""
    seen: list[tuple[str, str]] = []
    blocked: list[str] = []
    page.on("request", lambda request: seen.append((urlsplit(request.url).netloc, request.url)))
    # Chromium reports a fetch its CSP refused as failed with "csp".
    page.on(
        "requestfailed", lambda request: blocked.append(request.url) if request.failure == "csp" else None
    )
    return seen, blocked


def test_swagger_ui_and_redoc_render_for_staff_from_this_host_only(stack, page_factory):
    staff = UserFactory(is_staff=True)
    page = page_factory()
    login_session(page, stack, staff)
    seen, blocked = watch_hosts(page)
    own_host = urlsplit(stack.url).netloc

    page.goto(f"{stack.url}/")
    page.get_by_role("link", name="API", exact=True).click()
    expect(page).to_have_url(f"{stack.url}/api/v1/")
    expect(page.locator("body")).to_contain_text("/api/v1/docs/")
    expect(page.locator("body")).to_contain_text("/api/v1/trades/")

    page.goto(f"{stack.url}/api/v1/docs/")
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=30_000)
    assert operations.count() > 20
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/trades/").first).to_be_visible()
    shot(page, "swagger-ui")

    page.goto(f"{stack.url}/api/v1/redoc/")
    expect(page.locator("#redoc-container, redoc").get_by_text("TradeVision API").first).to_be_visible(
        timeout=30_000
    )
    shot(page, "redoc")

    foreign = [url for host, url in seen if host != own_host and not url.startswith(("data:", "blob:"))]
    # ReDoc's bundle asks for the Redocly logo on that company's CDN; the
    # page's policy stops it in the browser, so it never leaves the machine.
    assert seen and [url for url in foreign if url not in blocked] == []
