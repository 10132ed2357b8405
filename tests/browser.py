"""Headless Debian Chromium for end-to-end tests; Selenium Manager never downloads anything."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BASE_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def chromium(
    profile_dir: Path,
    *,
    flags: Iterable[str] = (),
    options: webdriver.ChromeOptions | None = None,
) -> WebDriver:
    """Start Chromium, failing (never skipping) with the install hint when it is missing."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: run devtools/install_chromium.sh "
            "(apt-get installs chromium and chromium-driver).",
            pytrace=False,
        )
    options = options or webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*BASE_FLAGS, *flags, f"--user-data-dir={profile_dir}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
