"""Stripe-shaped errors and the small parameter validators the patches share."""

from __future__ import annotations

from localstripe import resources
from localstripe.errors import UserError


def error(
    status: int, message: str, *, type_: str = "invalid_request_error", **fields
) -> UserError:
    err = UserError(status, message, {k: v for k, v in fields.items() if v is not None})
    err.body["error"]["type"] = type_
    return err


def unknown_parameter(params) -> UserError:
    name = sorted(params)[0]
    return error(400, f"Received unknown parameter: {name}", code="parameter_unknown", param=name)


def parse_bool(value, name: str) -> bool | None:
    value = resources.try_convert_to_bool(value)
    if value is not None and not isinstance(value, bool):
        raise error(400, f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name)
    return value


def check_metadata(metadata) -> None:
    if metadata in (None, ""):
        return
    if not isinstance(metadata, dict) or len(metadata) > 50:
        raise error(400, "Invalid metadata: a hash of at most 50 keys.", param="metadata")
    for key, value in metadata.items():
        if len(key) > 40 or not isinstance(value, str) or len(value) > 500:
            raise error(400, f"Invalid metadata[{key}].", param=f"metadata[{key}]")


def merge_metadata(obj, metadata) -> None:
    """Stripe's update semantics: keys merge, "" deletes a key, metadata="" clears all."""
    if metadata is None:
        return
    if metadata == "":
        obj.metadata = {}
        return
    check_metadata(metadata)
    merged = dict(obj.metadata or {})
    merged.update(metadata)
    obj.metadata = {k: v for k, v in merged.items() if v != ""}


def parse_shipping(value):
    if value in (None, ""):
        return None
    if not isinstance(value, dict) or not value.get("name"):
        raise error(400, "Missing required param: shipping[name].", param="shipping[name]")
    address = value.get("address")
    if not isinstance(address, dict):
        raise error(400, "Missing required param: shipping[address].", param="shipping[address]")
    fields = ("city", "country", "line1", "line2", "postal_code", "state")
    return {
        "name": value["name"],
        "address": {k: address.get(k) for k in fields},
        "carrier": value.get("carrier"),
        "phone": value.get("phone"),
        "tracking_number": value.get("tracking_number"),
    }
