"""django-filter with the API's rule: a filter value the filter cannot read is a 400."""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError

BOOLEAN_WORDS = frozenset({"true", "false"})


class StrictFilterSet(django_filters.FilterSet):
    """A FilterSet that refuses a blank typed value and a boolean other than true or false.

    django-filter follows HTML forms, where both mean "no filter": `?in_stock=null` or
    `?earned_to=` would answer the unfiltered list as if it were the filtered one.
    """

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name, filter_ in self.filters.items():
            if name not in self.data:
                continue
            getlist = getattr(self.data, "getlist", None)
            values = getlist(name) if getlist else [self.data[name]]
            if isinstance(filter_, django_filters.BooleanFilter):
                if any(value not in BOOLEAN_WORDS for value in values):
                    self.form.add_error(
                        name, ValidationError("Must be true or false.", code="invalid")
                    )
            elif not isinstance(filter_, django_filters.CharFilter) and "" in values:
                self.form.add_error(name, ValidationError("May not be blank.", code="blank"))
        return valid and not self.form.errors
