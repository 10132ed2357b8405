"""The objects the contract fuzzer finds behind the object routes: one of each kind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.models import User
from creators.models import Collaboration, Creator
from orders.models import Cart, CartLine, Order
from shop.models import Brand
from tests.creators.factories import (
    AffiliateLinkFactory,
    CollaborationFactory,
    CollectionFactory,
    CollectionItemFactory,
    CreatorFactory,
    VideoFactory,
    VideoProductFactory,
)
from tests.orders.aftersale_helpers import member, paid_order, variant_of
from tests.shop.factories import BrandFactory, InventoryFeedFactory
from tests.staff_sign_in import staff_tokens


@dataclass
class World:
    brand: Brand
    brand_owner: User
    creator: Creator
    cart: Cart
    order: Order

    def token_for(self, user: User) -> str:
        """The user's tokens; the brand owner's from a sign-in with the second factor, so
        the fuzzing reaches past it to the refunds (its refusal is tested apart)."""
        return str(staff_tokens(user).access_token)


def world_build() -> World:
    """A brand with stock, a feed and a paid order; a creator with a storefront, a video,
    a link, a collection and an invitation; a cart of the creator's, signed in."""
    brand = BrandFactory.create(slug="contract-brand", shipping_flat_rate=Decimal("5.00"))
    owner = member(brand)
    variant = variant_of(brand, on_hand=50)
    product = variant.product
    InventoryFeedFactory.create(brand=brand)
    creator = CreatorFactory.create(handle="contract_creator")
    video = VideoFactory.create(creator=creator)
    VideoProductFactory.create(video=video, product=product)
    AffiliateLinkFactory.create(creator=creator, product=product, code="contract1")
    collection = CollectionFactory.create(storefront=creator.storefront)
    CollectionItemFactory.create(collection=collection, product=product)
    CollaborationFactory.create(
        brand=brand,
        creator=creator,
        status=Collaboration.Status.INVITED,
        valid_from=timezone.now() - timedelta(days=1),
    )
    cart = Cart.objects.create(currency=brand.currency, user=creator.user)
    CartLine.objects.create(cart=cart, variant=variant, quantity=1)
    order = paid_order((variant, 1), user=creator.user, email=creator.user.email)
    return World(brand=brand, brand_owner=owner, creator=creator, cart=cart, order=order)
