"""The product page's images: upload a file (checked, stored, resized) or give a URL."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.html import format_html
from django.utils.safestring import SafeString
from unfold.widgets import (
    UnfoldAdminFileFieldWidget,
    UnfoldAdminIntegerFieldWidget,
    UnfoldAdminURLInputWidget,
)

from common.errors import ValidationFailed
from shop.models import ProductImage
from shop.services.images import (
    CheckedImage,
    image_upload_check,
    product_image_files_delete,
    product_image_store_upload,
    rendition_url,
)

PREVIEW_WIDTH = 200


class ProductImageAdminForm(forms.ModelForm):
    """Either an upload, whose size is read from the file, or a URL with width and height."""

    upload = forms.FileField(
        required=False,
        label="Upload",
        widget=UnfoldAdminFileFieldWidget(
            attrs={"accept": "image/jpeg,image/png,image/webp,image/gif"}
        ),
        help_text="JPEG, PNG, WebP or GIF; resized copies are made for you.",
    )
    url = forms.URLField(
        required=False,
        max_length=1000,
        assume_scheme="https",
        label="or image URL",
        widget=UnfoldAdminURLInputWidget(),
    )
    width = forms.IntegerField(required=False, min_value=1, widget=UnfoldAdminIntegerFieldWidget())
    height = forms.IntegerField(required=False, min_value=1, widget=UnfoldAdminIntegerFieldWidget())

    class Meta:
        model = ProductImage
        fields = ("upload", "url", "width", "height", "alt", "position")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checked: CheckedImage | None = None
        if self.instance.pk and self.instance.file:
            # An uploaded image's URL and size come from its file.
            for name in ("url", "width", "height"):
                self.fields[name].disabled = True

    def clean_upload(self) -> Any:
        upload = self.cleaned_data.get("upload")
        if upload:
            try:
                self.checked = image_upload_check(upload)
            except ValidationFailed as exc:
                raise forms.ValidationError(exc.message, code=exc.code) from None
        return upload

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.checked is not None or "upload" in self.errors:
            # The upload decides url, width and height; the form fields stand aside.
            for name in ("url", "width", "height"):
                self.errors.pop(name, None)
            if self.checked is not None:
                cleaned["width"], cleaned["height"] = self.checked.width, self.checked.height
            return cleaned
        if self.instance.pk and self.instance.file:
            return cleaned
        if not cleaned.get("url"):
            if "url" not in self.errors:
                self.add_error("url", "Upload an image, or give its URL with its width and height.")
            return cleaned
        for name in ("width", "height"):
            if cleaned.get(name) is None and name not in self.errors:
                self.add_error(name, f"Give the image's {name} in pixels.")
        return cleaned


def image_formset_save(formset: Any) -> None:
    """Save the product page's images: uploads through the image service, URLs as given."""
    formset.save(commit=False)
    for image in formset.deleted_objects:
        product_image_files_delete(image=image)
        image.delete()
    for form in formset.forms:
        if form in formset.deleted_forms or not form.has_changed():
            continue
        upload = form.cleaned_data.get("upload")
        if upload and form.checked is not None:
            product_image_store_upload(image=form.instance, upload=upload, checked=form.checked)
        else:
            form.instance.save()


def image_preview(image: ProductImage) -> SafeString | str:
    if not image.pk or not image.url:
        return "-"
    return format_html(
        '<a href="{}" target="_blank" rel="noopener"><img src="{}" alt="{}" '
        'style="max-width:96px;max-height:96px;object-fit:contain" loading="lazy"></a>',
        image.url,
        rendition_url(image, PREVIEW_WIDTH),
        image.alt or "Product image",
    )
