"""Production settings: secrets from the environment, HTTPS only, JSON logs.

Passes `manage.py check --deploy` (run by .ci/run)."""

from config.logging import logging_config
from config.settings.base import *  # noqa: F403
from config.settings.base import DATABASES, LOG_LEVEL, env, env_bool, env_int

DEBUG = False
SECRET_KEY = env("SECRET_KEY", "")
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set in production")

DATABASES["default"]["OPTIONS"] = {"pool": {"min_size": 2, "max_size": env_int("DATABASE_POOL_MAX", 20)}}

# --- Security (https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/)
# SECURE_PROXY_SSL_HEADER: set in base only when TRUSTED_PROXY names the
# balancer, whose X-Forwarded-Proto is then the only one that reaches Django.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# Web Push: set PUSH_VAPID_PRIVATE_KEY (one key for every host and worker:
# a push service refuses a message signed with another key than the one a
# browser subscribed with) and PUSH_VAPID_SUBJECT (a mailto: or https: URL
# of the operator). Without the key each host would generate its own into
# PUSH_VAPID_KEY_FILE, which is only right for a single host with a
# persistent disk. Plain-http push endpoints are never allowed here.
PUSH_ALLOW_HTTP_LOOPBACK = False

# One JSON object per line unless LOG_FORMAT says otherwise.
LOG_FORMAT = env("LOG_FORMAT", "json")
LOGGING = logging_config(fmt=LOG_FORMAT, level=LOG_LEVEL)
