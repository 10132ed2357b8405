"""Product images uploaded in the admin: stored, measured and resized, or refused in words."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from shop.models import Brand, BrandMember, Product, ProductImage
from tests.shop.factories import BrandFactory, BrandMemberFactory, ProductFactory
from tests.shop.test_admin_scoping import form_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:
    settings.MEDIA_ROOT = str(tmp_path)
    settings.MEDIA_URL = "/media/"
    settings.SITE_URL = "https://tribe.example"
    return tmp_path


@pytest.fixture
def brand() -> Brand:
    return BrandFactory.create()


@pytest.fixture
def staff(client: Client, brand: Brand) -> Client:
    client.force_login(BrandMemberFactory.create(brand=brand, role=BrandMember.Role.MANAGER).user)
    return client


@pytest.fixture
def product(brand: Brand) -> Product:
    return ProductFactory.create(brand=brand)


def url(product: Product) -> str:
    return f"/admin/shop/product/{product.pk}/change/"


def image_bytes(size: tuple[int, int], fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    out = io.BytesIO()
    Image.new(mode, size, color=0 if mode == "1" else (200, 120, 40)).save(out, format=fmt)
    return out.getvalue()


def post_image(client: Client, product: Product, **fields: object):
    data = form_data(client.get(url(product)))
    data.update({"images-TOTAL_FORMS": 1, "images-0-position": 0, "images-0-alt": "Front"})
    data.update({f"images-0-{name}": value for name, value in fields.items()})
    return client.post(url(product), data)


def image_errors(response) -> list[str]:
    formset = next(
        f.formset for f in response.context["inline_admin_formsets"] if f.formset.prefix == "images"
    )
    return [
        message
        for form in formset.forms
        for messages in form.errors.values()
        for message in messages
    ]


def test_an_uploaded_image_is_stored_measured_and_resized(staff, product, media_root):
    upload = SimpleUploadedFile("front.jpg", image_bytes((1600, 1000)), "image/jpeg")

    response = post_image(staff, product, upload=upload)

    assert response.status_code == 302
    image = ProductImage.objects.get(product=product)
    assert (image.width, image.height, image.alt) == (1600, 1000, "Front")
    assert image.file.name.startswith(f"products/{product.brand_id}/{product.pk}/")
    assert image.file.name.endswith(".jpg")
    assert image.url == f"https://tribe.example/media/{image.file.name}"
    assert (media_root / image.file.name).is_file()
    assert sorted(image.renditions) == ["1200", "200", "600"]
    for width, name in image.renditions.items():
        with default_storage.open(name) as stored, Image.open(stored) as copy:
            assert copy.format == "WEBP"
            assert copy.size == (int(width), round(1000 * int(width) / 1600))


def test_an_upload_narrower_than_a_size_gets_no_larger_copy(staff, product):
    upload = SimpleUploadedFile("small.png", image_bytes((500, 500), "PNG"), "image/png")

    assert post_image(staff, product, upload=upload).status_code == 302

    assert sorted(ProductImage.objects.get(product=product).renditions) == ["200"]


def test_the_product_page_previews_a_stored_upload(staff, product):
    upload = SimpleUploadedFile("front.jpg", image_bytes((800, 800)), "image/jpeg")
    post_image(staff, product, upload=upload)
    image = ProductImage.objects.get(product=product)

    page = staff.get(url(product)).content.decode()

    assert f'src="https://tribe.example/media/{image.renditions["200"]}"' in page


def test_an_image_given_by_url_with_its_size_still_works(staff, product):
    response = post_image(
        staff, product, url="https://cdn.example.com/a.jpg", width=1080, height=1350
    )

    assert response.status_code == 302
    image = ProductImage.objects.get(product=product)
    assert (image.url, image.width, image.height, image.file.name) == (
        "https://cdn.example.com/a.jpg",
        1080,
        1350,
        "",
    )


def test_an_image_url_without_its_size_asks_for_it(staff, product):
    response = post_image(staff, product, url="https://cdn.example.com/a.jpg")

    assert response.status_code == 200
    assert image_errors(response) == [
        "Give the image's width in pixels.",
        "Give the image's height in pixels.",
    ]


def test_a_20_mb_file_is_refused_with_its_size(staff, product, media_root):
    upload = SimpleUploadedFile("huge.jpg", b"\xff\xd8" + b"\0" * (20 * 1024 * 1024), "image/jpeg")

    response = post_image(staff, product, upload=upload)

    assert response.status_code == 200
    assert image_errors(response) == [
        "The file is 20.0 MB; an image can be at most 10.0 MB. Save it smaller "
        "(for example as a JPEG) and upload it again."
    ]
    assert not ProductImage.objects.exists()
    assert list(media_root.iterdir()) == []


def test_a_file_that_is_not_an_image_is_refused(staff, product):
    upload = SimpleUploadedFile("notes.jpg", b"Just some text, not a picture.", "image/jpeg")

    response = post_image(staff, product, upload=upload)

    assert response.status_code == 200
    assert image_errors(response) == [
        "The file is not an image that can be read; upload a JPEG, PNG, WebP or GIF image."
    ]
    assert not ProductImage.objects.exists()


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("logo.svg", "image/svg+xml"), ("logo.png", "image/png")],
    ids=["named-svg", "svg-posing-as-png"],
)
def test_an_svg_is_refused_even_when_named_otherwise(staff, product, name, content_type):
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    upload = SimpleUploadedFile(name, svg, content_type)

    response = post_image(staff, product, upload=upload)

    assert response.status_code == 200
    assert image_errors(response) == [
        "SVG files are not accepted, as they can carry scripts; upload a JPEG, PNG, WebP or "
        "GIF image."
    ]
    assert not ProductImage.objects.exists()


def test_a_decompression_bomb_is_refused_before_it_is_decoded(staff, product, media_root):
    bomb = image_bytes((12_000, 12_000), "PNG", mode="1")  # 144 megapixels in a few kilobytes
    assert len(bomb) < 100_000
    upload = SimpleUploadedFile("bomb.png", bomb, "image/png")

    response = post_image(staff, product, upload=upload)

    assert response.status_code == 200
    assert image_errors(response) == [
        "The image has too many pixels to process safely (at most 40,000,000); resize it and "
        "upload it again."
    ]
    assert not ProductImage.objects.exists()
    assert list(media_root.iterdir()) == []


def test_deleting_an_uploaded_image_deletes_its_files_after_commit(
    staff, product, media_root, django_capture_on_commit_callbacks
):
    post_image(staff, product, upload=SimpleUploadedFile("a.jpg", image_bytes((700, 500))))
    image = ProductImage.objects.get(product=product)
    names = [image.file.name, *image.renditions.values()]
    assert all((media_root / name).is_file() for name in names)
    data = form_data(staff.get(url(product)))
    data["images-0-DELETE"] = "on"

    with django_capture_on_commit_callbacks(execute=True):
        assert staff.post(url(product), data).status_code == 302

    assert not ProductImage.objects.exists()
    assert not any((media_root / name).exists() for name in names)
