"""The invitation form brands fill in the admin; the save goes through `collaboration_invite`."""

from __future__ import annotations

from typing import Any

from django import forms
from django.db import models
from django.utils import timezone

from creators.models import Collaboration


class CollaborationInviteForm(forms.ModelForm):
    """Invite one creator: the same rules as the service, so they show as form errors."""

    class Meta:
        model = Collaboration
        fields = (
            "brand",
            "creator",
            "product",
            "rate",
            "valid_from",
            "valid_until",
            "message",
            "codes_allowed",
            "code_max_percent",
            "code_max_count",
        )
        help_texts = {
            "rate": "Commission percentage, 0 to 100.",
            "valid_from": "Empty: from now.",
            "valid_until": "Empty: until revoked.",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "valid_from" in self.fields:
            self.fields["valid_from"].required = False
        # Left empty, the code limits take the model's defaults (codes are off by default).
        for name in ("code_max_percent", "code_max_count"):
            if name in self.fields:
                self.fields[name].required = False

    def _default_if_empty(self, name: str) -> None:
        if name in self.cleaned_data and self.cleaned_data[name] in (None, ""):
            field = Collaboration._meta.get_field(name)
            assert isinstance(field, models.Field)
            self.cleaned_data[name] = field.get_default()

    def clean(self) -> dict[str, Any]:
        super().clean()
        self._default_if_empty("code_max_percent")
        self._default_if_empty("code_max_count")
        cleaned = self.cleaned_data
        brand = cleaned.get("brand") or getattr(self.instance, "brand", None)
        product = cleaned.get("product")
        if product is not None and brand is not None and product.brand_id != brand.pk:
            self.add_error("product", "Choose one of the brand's own products.")
        start = cleaned.get("valid_from") or timezone.now()
        until = cleaned.get("valid_until")
        if until is not None and until <= start:
            self.add_error("valid_until", "The collaboration must end after it starts.")
        return cleaned
