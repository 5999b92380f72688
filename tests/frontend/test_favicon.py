"""/favicon.ico is not a 404: it redirects to the SVG icon every page links."""

from django.templatetags.static import static


def test_favicon_ico_redirects_to_the_svg_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"] == static("frontend/favicon.svg")
    assert response["Location"].endswith(".svg")


def test_pages_link_the_svg_icon(client, django_user_model):
    user = django_user_model.objects.create_user("icon", password="pw-icon-123")
    client.force_login(user)
    html = client.get("/").content.decode()
    assert f'<link rel="icon" href="{static("frontend/favicon.svg")}" type="image/svg+xml">' in html
