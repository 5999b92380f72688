"""/favicon.ico: browsers ask for it whatever a page links (and a PDF viewer
or a feed reader links nothing), so it redirects to the SVG icon instead of
answering 404."""

from typing import Any

from django.templatetags.static import static
from django.views.generic import RedirectView


class FaviconRedirect(RedirectView):
    # Not permanent: the static URL carries the file's hash, which changes
    # when the icon does.
    permanent = False

    def get_redirect_url(self, *args: Any, **kwargs: Any) -> str:
        return static("frontend/favicon.svg")
