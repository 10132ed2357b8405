from datetime import timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from commissions.models import CommissionTerms, PayoutAccount
from creators.models import (
    AffiliateLink,
    Collaboration,
    Collection,
    CollectionItem,
    Creator,
    Storefront,
    Video,
    VideoProduct,
)
from tests.factories import UserFactory
from tests.shop.factories import BrandFactory, ProductFactory


class StorefrontFactory(factory.django.DjangoModelFactory[Storefront]):
    class Meta:
        model = Storefront

    creator = factory.SubFactory("tests.creators.factories.CreatorFactory", storefront=None)
    title = factory.LazyAttribute(lambda o: o.creator.display_name)
    theme_color = "#111111"


class CreatorFactory(factory.django.DjangoModelFactory[Creator]):
    """A creator with an empty storefront, as `creator_become` makes them."""

    class Meta:
        model = Creator
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    handle = factory.Sequence(lambda n: f"creator_{n}")
    display_name = factory.Sequence(lambda n: f"Creator {n}")
    bio = ""
    status = Creator.Status.ACTIVE
    storefront = factory.RelatedFactory(StorefrontFactory, factory_related_name="creator")


class CollectionFactory(factory.django.DjangoModelFactory[Collection]):
    class Meta:
        model = Collection

    storefront = factory.SubFactory(StorefrontFactory)
    title = factory.Sequence(lambda n: f"Collection {n}")
    position = 0


class CollectionItemFactory(factory.django.DjangoModelFactory[CollectionItem]):
    class Meta:
        model = CollectionItem

    collection = factory.SubFactory(CollectionFactory)
    product = factory.SubFactory(ProductFactory)
    position = 0


class VideoFactory(factory.django.DjangoModelFactory[Video]):
    class Meta:
        model = Video

    creator = factory.SubFactory(CreatorFactory)
    platform = Video.Platform.TIKTOK
    external_id = factory.Sequence(lambda n: f"v{n:06d}")
    url = factory.LazyAttribute(lambda o: f"https://www.tiktok.com/@x/video/{o.external_id}")
    caption = "Look at this."


class VideoProductFactory(factory.django.DjangoModelFactory[VideoProduct]):
    class Meta:
        model = VideoProduct

    video = factory.SubFactory(VideoFactory)
    product = factory.SubFactory(ProductFactory)
    appears_at_seconds = 0
    position = 0


class CollaborationFactory(factory.django.DjangoModelFactory[Collaboration]):
    """An invitation by default; pass status=Collaboration.Status.ACCEPTED for one in force."""

    class Meta:
        model = Collaboration

    brand = factory.SubFactory(BrandFactory)
    creator = factory.SubFactory(CreatorFactory)
    product = None
    rate = Decimal("20.00")
    valid_from = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    valid_until = None
    status = Collaboration.Status.INVITED


class AffiliateLinkFactory(factory.django.DjangoModelFactory[AffiliateLink]):
    """A link with a given locked rate; use `links.link_create` to lock the real best rate."""

    class Meta:
        model = AffiliateLink

    creator = factory.SubFactory(CreatorFactory)
    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"t{n:07d}")
    locked_rate = Decimal("10.00")
    lock_ends_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=30))
    is_active = True


class CommissionTermsFactory(factory.django.DjangoModelFactory[CommissionTerms]):
    class Meta:
        model = CommissionTerms

    brand = factory.SubFactory(BrandFactory)
    hold_days = 30


class PayoutAccountFactory(factory.django.DjangoModelFactory[PayoutAccount]):
    """A Stripe Connect account that finished onboarding; pass status/provider to vary it."""

    class Meta:
        model = PayoutAccount

    creator = factory.SubFactory(CreatorFactory)
    provider = PayoutAccount.Provider.STRIPE
    stripe_account_id = factory.Sequence(lambda n: f"acct_test{n:08d}")
    status = PayoutAccount.Status.READY
    payouts_enabled = True
    details_submitted = True
