"""The Content-Security-Policy header: strict on our pages, absent on the
third-party admin and API tooling pages that need inline scripts."""

import pytest
from django.urls import reverse

from frontend.middleware import DEFAULT_POLICY

pytestmark = pytest.mark.django_db


def test_pages_carry_the_strict_policy(client, user):
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert policy == DEFAULT_POLICY.replace("{host}", "testserver")
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    # The socket only to this host, not any ws: / wss: URL.
    assert directives["connect-src"] == ["'self'", "ws://testserver", "wss://testserver"]
    assert directives["frame-ancestors"] == ["'none'"]


def test_redirects_to_login_carry_the_policy_too(client):
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Content-Security-Policy"] == DEFAULT_POLICY.replace("{host}", "testserver")


def test_admin_and_browsable_api_are_exempt_and_still_work(client, staff_user):
    staff_user.is_superuser = True
    staff_user.save()
    client.force_login(staff_user)
    admin = client.get("/admin/")
    assert admin.status_code == 200
    assert "Content-Security-Policy" not in admin
    schema_docs = client.get("/api/v1/docs/")
    assert schema_docs.status_code == 200
    assert "Content-Security-Policy" not in schema_docs


def test_templates_have_no_inline_script_or_style():
    """The policy would block them: every template must use static files."""
    import re
    from pathlib import Path

    import frontend

    root = Path(frontend.__file__).parent / "templates"
    offenders = []
    for template in root.rglob("*.html"):
        text = template.read_text()
        for match in re.finditer(r"<script\b([^>]*)>", text):
            if "src=" not in match.group(1):
                offenders.append(f"{template.name}: inline <script>")
        if re.search(r"<style\b", text) or re.search(r"\sstyle=", text):
            offenders.append(f"{template.name}: inline style")
        if re.search(r"\son[a-z]+=", text):
            offenders.append(f"{template.name}: inline event handler")
    assert offenders == []
