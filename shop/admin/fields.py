"""Form fields that let people type what the catalog stores as JSON.

`TagsField` reads "summer, skincare" into `["summer", "skincare"]`; `OptionsField` shows a
variant's options as name/value pairs ("size" / "M") and stores `{"size": "M"}`.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from unfold.widgets import INPUT_CLASSES, UnfoldAdminTextInputWidget

# The same limits as the catalog API's serializers (shop/api/brand.py).
MAX_TAG_LENGTH = 50
MAX_OPTION_LENGTH = 100
OPTION_PAIRS = 3


def tags_parse(text: str) -> list[str]:
    """Split comma-separated tags, trimmed, empty ones dropped, repeats (any case) once."""
    tags: list[str] = []
    seen: set[str] = set()
    for raw in text.split(","):
        tag = " ".join(raw.split())
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            tags.append(tag)
    return tags


class TagsField(forms.CharField):
    """A comma-separated text input whose value is a list of tags."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "Separate tags with commas, e.g. summer, skincare.")
        kwargs.setdefault(
            "widget", UnfoldAdminTextInputWidget(attrs={"placeholder": "summer, skincare"})
        )
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return ", ".join(str(tag) for tag in value)
        return value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list | tuple):
            return [str(tag) for tag in value]
        text = super().to_python(value)
        return tags_parse(text or "")

    def validate(self, value: Any) -> None:
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")
        too_long = [tag for tag in value if len(tag) > MAX_TAG_LENGTH]
        if too_long:
            raise ValidationError(
                f"A tag has at most {MAX_TAG_LENGTH} characters: shorten “{too_long[0][:60]}”.",
                code="max_length",
            )

    def run_validators(self, value: Any) -> None:
        for tag in value:
            super().run_validators(tag)

    def has_changed(self, initial: Any, data: Any) -> bool:
        return self.to_python(initial or []) != self.to_python(data)


class OptionsWidget(forms.MultiWidget):
    """Name/value pairs, one pair a line."""

    template_name = "admin/shop/widgets/options.html"

    def __init__(self, pairs: int = OPTION_PAIRS) -> None:
        classes = " ".join([*INPUT_CLASSES, "options-input"])
        widgets: dict[str, forms.Widget | type[forms.Widget]] = {}
        for i in range(pairs):
            widgets[f"name_{i}"] = forms.TextInput(
                attrs={"class": classes, "placeholder": "name, e.g. size", "aria-label": "Name"}
            )
            widgets[f"value_{i}"] = forms.TextInput(
                attrs={"class": classes, "placeholder": "value, e.g. M", "aria-label": "Value"}
            )
        self.pairs = pairs
        super().__init__(widgets)

    def decompress(self, value: Any) -> list[str | None]:
        items = list(value.items()) if isinstance(value, dict) else []
        flat: list[str | None] = []
        for i in range(self.pairs):
            name, option = items[i] if i < len(items) else (None, None)
            flat += [name, None if option is None else str(option)]
        return flat

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        subwidgets = context["widget"]["subwidgets"]
        context["widget"]["pairs"] = [subwidgets[i : i + 2] for i in range(0, len(subwidgets), 2)]
        return context


class OptionsField(forms.MultiValueField):
    """A variant's options as name/value pairs; stored as `{"name": "value"}`."""

    def __init__(self, *, pairs: int = OPTION_PAIRS, **kwargs: Any) -> None:
        self.pairs = pairs
        fields = [
            forms.CharField(max_length=MAX_OPTION_LENGTH, required=False) for _ in range(pairs * 2)
        ]
        kwargs.setdefault("required", False)
        kwargs.setdefault("help_text", "For example size: M and colour: red.")
        super().__init__(fields, widget=OptionsWidget(pairs), require_all_fields=False, **kwargs)

    def compress(self, data_list: list[str]) -> dict[str, str]:
        options: dict[str, str] = {}
        values = list(data_list or []) + [""] * (self.pairs * 2)
        for i in range(self.pairs):
            name = " ".join((values[2 * i] or "").split())
            option = " ".join((values[2 * i + 1] or "").split())
            if not name and not option:
                continue
            if not name:
                raise ValidationError(f"Give the value “{option}” a name, such as size or colour.")
            if not option:
                raise ValidationError(f"Give the option “{name}” a value.")
            if name.casefold() in (key.casefold() for key in options):
                raise ValidationError(f"The option “{name}” is listed twice.")
            options[name] = option
        return options
