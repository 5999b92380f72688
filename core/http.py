"""Helpers for views of every app."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from rest_framework.request import Request


def request_user(request: Request | HttpRequest) -> User:
    """The authenticated user. Precondition: the view requires one (the
    project's default permission, or `LoginRequiredMixin`)."""
    user = request.user
    assert isinstance(user, User)
    return user
