"""Instruments, bars, hour bars and price ticks now belong to the market app
(market 0001 took over their state; tables and rows stay where they are).
State only: repoint the trade and plan foreign keys to `market.Instrument`,
then drop the four models from trading's state. The database is untouched:
the foreign keys already point at `trading_instrument`, the table
`market.Instrument` uses.

The one database write: the content types of the four models follow them to
`market`, so staff permissions and admin history granted on them keep
working (a fresh database has no content types yet, and this updates
nothing)."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = ["instrument", "bar", "hourbar", "pricetick"]


def content_types_to(old, new):
    def move(apps, schema_editor):
        ContentType = apps.get_model("contenttypes", "ContentType")
        Permission = apps.get_model("auth", "Permission")
        LogEntry = apps.get_model("admin", "LogEntry")
        for model in MOVED:
            stale = ContentType.objects.filter(app_label=old, model=model).first()
            if stale is None:
                continue
            target = ContentType.objects.filter(app_label=new, model=model).first()
            if target is None:
                stale.app_label = new
                stale.save(update_fields=["app_label"])
                continue
            # Both exist (`migrate market` ran on its own first, or a migration
            # down and up again): what was granted or logged on the old one
            # moves to the new one, where a user already holds the same
            # permission under the new type it is simply dropped.
            for permission in Permission.objects.filter(content_type=stale):
                twin = Permission.objects.filter(content_type=target, codename=permission.codename).first()
                if twin is None:
                    permission.content_type = target
                    permission.save(update_fields=["content_type"])
                else:
                    for user in permission.user_set.all():
                        user.user_permissions.add(twin)
                    for group in permission.group_set.all():
                        group.permissions.add(twin)
                    permission.delete()
            LogEntry.objects.filter(content_type=stale).update(content_type=target)
            stale.delete()

    return move


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("admin", "0003_logentry_add_action_flag_choices"),
        ("market", "0001_initial"),
        ("trading", "0005_trade_expiry_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[],
            state_operations=[
                migrations.AlterField(
                    model_name="plan",
                    name="instrument",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="plans", to="market.instrument"),
                ),
                migrations.AlterField(
                    model_name="trade",
                    name="instrument",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="trades", to="market.instrument"),
                ),
                migrations.DeleteModel(name="Bar"),
                migrations.DeleteModel(name="HourBar"),
                migrations.DeleteModel(name="PriceTick"),
                migrations.DeleteModel(name="Instrument"),
            ],
        ),
        migrations.RunPython(content_types_to("trading", "market"), content_types_to("market", "trading")),
    ]
