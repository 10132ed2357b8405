from decimal import Decimal

import factory

from shop.models import Brand, BrandMember, InventoryFeed, Product, ProductImage, Variant


class BrandFactory(factory.django.DjangoModelFactory[Brand]):
    class Meta:
        model = Brand

    name = factory.Sequence(lambda n: f"Brand {n}")
    slug = factory.Sequence(lambda n: f"brand-{n}")
    currency = "USD"
    default_commission_rate = Decimal("10.00")
    is_active = True


class BrandMemberFactory(factory.django.DjangoModelFactory[BrandMember]):
    class Meta:
        model = BrandMember

    brand = factory.SubFactory(BrandFactory)
    user = factory.SubFactory("tests.factories.UserFactory", is_staff=True)
    role = BrandMember.Role.OWNER


class ProductFactory(factory.django.DjangoModelFactory[Product]):
    class Meta:
        model = Product

    brand = factory.SubFactory(BrandFactory)
    title = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    description = "A thing people love."
    category = "apparel"
    status = Product.Status.ACTIVE


class ProductImageFactory(factory.django.DjangoModelFactory[ProductImage]):
    class Meta:
        model = ProductImage

    product = factory.SubFactory(ProductFactory)
    url = factory.Sequence(lambda n: f"https://cdn.example.com/img/{n}.jpg")
    width = 1080
    height = 1350
    position = factory.Sequence(lambda n: n)


class VariantFactory(factory.django.DjangoModelFactory[Variant]):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    title = "Default"
    options = factory.LazyFunction(lambda: {"size": "M"})
    price = Decimal("19.99")
    on_hand = 10
    reserved = 0


class InventoryFeedFactory(factory.django.DjangoModelFactory[InventoryFeed]):
    class Meta:
        model = InventoryFeed

    brand = factory.SubFactory(BrandFactory)
    name = factory.Sequence(lambda n: f"Warehouse feed {n}")
    url = ""
    format = InventoryFeed.Format.CSV
