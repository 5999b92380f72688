"""Page views of the frontend: thin shells that render a template.

Pages are server-rendered skeletons; live data arrives over the WebSocket
(`/ws/stream/`) and the REST API, driven by the ES modules under
`frontend/static/frontend/js/`. Every page needs a logged-in user.
"""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView


class DashboardView(LoginRequiredMixin, TemplateView):
    template_name = "frontend/dashboard.html"
