"""The deploy's version, which names the service worker's caches.

`APP_VERSION` when the deploy sets it; else a hash of every static file
(names and contents) and of the worker's own source. A deploy that changes
any of them changes the worker's bytes, so browsers install the new worker,
whose activation deletes the caches of every other version: no stale app."""

import functools
import hashlib

from django.conf import settings
from django.contrib.staticfiles import finders


@functools.cache
def app_version() -> str:
    if settings.APP_VERSION:
        return str(settings.APP_VERSION)
    digest = hashlib.sha256()
    digest.update((settings.BASE_DIR / "push" / "templates" / "push" / "sw.js").read_bytes())
    digest.update((settings.BASE_DIR / "push" / "templates" / "push" / "offline.html").read_bytes())
    found: dict[str, bytes] = {}
    for finder in finders.get_finders():
        for path, storage in finder.list(["CVS", ".*", "*~"]):
            if path not in found:  # the first finder wins, as in collectstatic
                with storage.open(path) as handle:
                    found[path] = hashlib.sha256(handle.read()).digest()
    for path in sorted(found):
        digest.update(path.encode())
        digest.update(found[path])
    return digest.hexdigest()[:16]
