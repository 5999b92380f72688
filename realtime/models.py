"""The event log (transactional outbox).

`Event` rows are written by `realtime.publish.publish` in the same database
transaction as the change they describe, with a per-user `seq` that has no
gaps: `EventCounter.last_seq` is bumped by an upsert in that transaction, so
the counter row is locked until commit and a rollback takes back both the
number and the row. Readers (resume, the REST poll, the consumer's gap fill)
read `seq > since` ordered by seq.

Pruning (`realtime.services.event_prune`) deletes old events but never the
counter, so numbering continues after a prune and a client whose `since` is
below the oldest kept event is told to resync.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone


class EventCounter(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True)
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.user_id}: {self.last_seq}"


class Event(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seq = models.BigIntegerField()
    event = models.CharField(max_length=40)
    data = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "seq"], name="realtime_event_user_seq_unique"),
            models.CheckConstraint(condition=models.Q(seq__gte=1), name="realtime_event_seq_positive"),
        ]
        ordering = ["user", "seq"]

    def __str__(self) -> str:
        return f"{self.user_id}#{self.seq} {self.event}"
