"""UI fixtures: one headless Chromium for the session (skips with the reason it cannot)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from ._browser import start_browser

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """A selenium driver for headless Chromium; failure screenshots go to a pytest tmp dir."""
    driver, reason = start_browser(tmp_path_factory.mktemp("ui-failures"))
    if driver is None:
        pytest.skip(reason)
    try:
        yield driver
    finally:
        driver.quit()
