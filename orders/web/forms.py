"""The web shop's forms. The address rules are the API's (`orders.api.checkouts.AddressInput`),
with messages a shopper can act on; a test keeps the two accepting the same input."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from django import forms

HANDLE = re.compile(r"^[A-Za-z0-9_.]{1,30}$")
WHOLE_NUMBER = {"required": "Enter a quantity.", "invalid": "Enter a whole number, such as 1."}


class AddForm(forms.Form):
    sku = forms.CharField(max_length=64, error_messages={"required": "Choose an option first."})
    quantity = forms.IntegerField(error_messages=WHOLE_NUMBER)
    atk = forms.CharField(max_length=500, required=False)
    # The storefront token of the page the product was added from (docs/attribution.md).
    satk = forms.CharField(max_length=500, required=False)
    shop = forms.RegexField(HANDLE, required=False)
    product = forms.IntegerField(min_value=1, max_value=2**63 - 1, required=False)


class QuantityForm(forms.Form):
    quantity = forms.IntegerField(error_messages=WHOLE_NUMBER)


def _text(label: str, max_length: int, autocomplete: str, *, required: bool = True) -> Any:
    return forms.CharField(
        label=label,
        max_length=max_length,
        required=required,
        widget=forms.TextInput(attrs={"autocomplete": autocomplete}),
        error_messages={
            "required": f"Enter your {label.lower()}.",
            "max_length": f"Use at most {max_length} characters.",
        },
    )


class CheckoutForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "inputmode": "email"}),
        error_messages={
            "required": "Enter your email address: your receipt goes there.",
            "invalid": "Enter an email address such as you@example.com.",
        },
    )
    name = _text("Full name", 200, "shipping name")
    line1 = _text("Address", 200, "shipping address-line1")
    line2 = _text("Apartment, suite (optional)", 200, "shipping address-line2", required=False)
    city = _text("City", 100, "shipping address-level2")
    postal_code = _text("Postal code", 20, "shipping postal-code")
    region = _text("State or region (optional)", 100, "shipping address-level1", required=False)
    country = forms.CharField(
        label="Country code",
        max_length=2,
        widget=forms.TextInput(
            attrs={"autocomplete": "shipping country", "size": 2, "autocapitalize": "characters"}
        ),
        help_text="2 letters, such as US, GB or DE.",
        error_messages={
            "required": "Enter your country: use a 2-letter country code such as US.",
            "max_length": "Use a 2-letter country code such as US.",
        },
    )
    phone = forms.CharField(
        label="Phone (optional)",
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )
    # A fresh value each time the form is shown: resending the same form finds the same order.
    submission = forms.RegexField(r"^[A-Za-z0-9_-]{16,64}$", widget=forms.HiddenInput)

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].strip().upper()
        if len(country) != 2 or not country.isascii() or not country.isalpha():
            raise forms.ValidationError("Use a 2-letter country code such as US.")
        return country

    def address(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            k: data[k]
            for k in ("name", "line1", "line2", "city", "postal_code", "region", "country", "phone")
        }

    def idempotency_key(self) -> str:
        """The same submission of the same details gives the same key; other details, another."""
        details = json.dumps(
            {"email": self.cleaned_data["email"], **self.address()}, sort_keys=True
        ).encode()
        return f"web-{self.cleaned_data['submission']}-{hashlib.sha256(details).hexdigest()[:16]}"
