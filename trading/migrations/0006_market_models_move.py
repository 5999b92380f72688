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
        for model in MOVED:
            if not ContentType.objects.filter(app_label=new, model=model).exists():
                ContentType.objects.filter(app_label=old, model=model).update(app_label=new)

    return move


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
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
