"""Demo data for the local run: each app may have a `demo.seed(password=...)` step."""

from __future__ import annotations

import importlib
import importlib.util

from django.apps import apps


def seed_all(*, password: str) -> list[str]:
    """Run every installed app's demo seeder in app order; returns banner lines."""
    lines: list[str] = []
    for config in apps.get_app_configs():
        module_name = f"{config.name}.demo"
        if config.name == "common" or importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        lines.extend(module.seed(password=password))
    return lines
