"""factory_boy factories shared by every suite."""

import factory
from django.contrib.auth import get_user_model

PASSWORD = "correct-horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class InstrumentFactory(factory.django.DjangoModelFactory):
    """A crypto-like, always-open instrument; `symbol` is get-or-create so the
    seeded instruments (migration trading.0002) are reused, not duplicated."""

    class Meta:
        model = "market.Instrument"
        django_get_or_create = ("symbol",)

    symbol = factory.Sequence(lambda n: f"TST{n}-USD")
    name = factory.LazyAttribute(lambda i: f"Test instrument {i.symbol}")
    asset_class = "crypto"
    quote_currency = "USD"
    price_scale = 2
    quantity_scale = 8
    fee_bps = 10
    calendar = "always"
    feed_source = "random_walk"
    feed_params = factory.LazyFunction(lambda: {"start_price": "100.00", "volatility": "0.50"})
