"""A real headless Chromium driven by selenium, reading the Airflow 3 UI.

``start_browser()`` returns ``(driver, "")``, or ``(None, reason)`` when selenium, Chromium or
chromedriver is missing or cannot start, so a test can ``pytest.skip(reason)``. The readers
(``dag_list_names``, ``mapped_task_names``, ``dag_docs_text``, ``dag_owner``) open a page, wait
for it explicitly and raise ``UIError`` (an ``AssertionError``) naming what they waited for,
with a screenshot and the page source saved beside it.

Selectors are the UI's own ``data-testid`` attributes and Ark UI's ``role``/``data-part``
attributes, never its (translated) texts or generated class names. Checked against the
Airflow 3.3 UI (``airflow/ui/dist``).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import weakref
from collections.abc import Callable, Collection
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import quote

if TYPE_CHECKING:
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.remote.webelement import WebElement

__all__ = [
    "UIError",
    "dag_docs_text",
    "dag_list_names",
    "dag_owner",
    "find_chromium",
    "login",
    "mapped_task_names",
    "screenshot",
    "start_browser",
]

#: Seconds a reader waits for a page before failing.
TIMEOUT = 30.0
#: Overrides for the binaries (otherwise Debian's paths, then PATH); not DAGPLANE_*, which
#: tests/conftest.py clears.
CHROMIUM_ENV = "CHROMIUM_BIN"
CHROMEDRIVER_ENV = "CHROMEDRIVER_BIN"
_CHROMIUM = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
_CHROMEDRIVER = ("/usr/bin/chromedriver", "chromedriver")
_INSTALL = "apt-get install -y chromium chromium-driver"

# Where each driver saves its failure screenshots and page sources.
_ARTIFACTS: weakref.WeakKeyDictionary[WebDriver, Path] = weakref.WeakKeyDictionary()

T = TypeVar("T")


class UIError(AssertionError):
    """The UI did not show what was waited for (screenshot and page source saved)."""


def find_chromium() -> tuple[str, str] | str:
    """``(chromium, chromedriver)`` paths, or the reason they are not both there."""
    chromium = _which(os.environ.get(CHROMIUM_ENV), _CHROMIUM)
    driver = _which(os.environ.get(CHROMEDRIVER_ENV), _CHROMEDRIVER)
    if chromium and driver:
        return chromium, driver
    missing = [
        f"{name} (${env}={os.environ[env]})" if os.environ.get(env) else name
        for name, env, path in (
            ("chromium", CHROMIUM_ENV, chromium),
            ("chromedriver", CHROMEDRIVER_ENV, driver),
        )
        if not path
    ]
    return f"{' and '.join(missing)} not found (as root on Debian: {_INSTALL})"


def start_browser(
    artifacts_dir: Path | None = None, *, width: int = 1600, height: int = 1000
) -> tuple[WebDriver | None, str]:
    """A headless Chromium session, or ``(None, reason)`` when there is none to be had.

    Failure screenshots and page sources go to ``artifacts_dir`` (default: a folder in the
    system temp dir). The caller quits the driver.
    """
    try:
        from selenium import webdriver
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        return None, "selenium is not installed (add selenium>=4.30 to the dev group: uv sync)"
    found = find_chromium()
    if isinstance(found, str):
        return None, found
    chromium, chromedriver = found
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in a container has no usable sandbox
        "--disable-dev-shm-usage",  # small /dev/shm in containers
        "--disable-gpu",
        "--lang=en-US",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {"intl.accept_languages": "en-US,en"})
    # An explicit driver path: selenium never runs Selenium Manager (no downloads).
    service = Service(executable_path=chromedriver)
    try:
        driver = webdriver.Chrome(options=options, service=service)
    except WebDriverException as exc:
        lines = (exc.msg or str(exc)).strip().splitlines() or [type(exc).__name__]
        return None, f"headless Chromium did not start ({chromium}, {chromedriver}): {lines[0]}"
    driver.set_page_load_timeout(60)
    _ARTIFACTS[driver] = artifacts_dir or Path(tempfile.gettempdir()) / "dagplane-ui"
    return driver, ""


def login(
    driver: WebDriver, base_url: str, username: str, password: str, *, timeout: float = TIMEOUT
) -> None:
    """Sign in on SimpleAuthManager's login page (``/auth/login``) and wait for the app."""
    from selenium.webdriver.common.by import By

    base = base_url.rstrip("/")
    driver.get(f"{base}/auth/login?next=%2F")
    user = _wait(
        driver, "the login form (input[name=username])", _visible(By.NAME, "username"), timeout
    )
    user.clear()
    user.send_keys(username)
    field = driver.find_element(By.NAME, "password")
    field.clear()
    field.send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()

    def signed_in(d: WebDriver) -> bool:
        if "/auth/login" in d.current_url:
            return False
        return bool(d.find_elements(By.CSS_SELECTOR, '[data-testid="nav-sidebar"]'))

    _wait(driver, f"the Airflow UI after signing in as {username!r}", signed_in, timeout)


def dag_list_names(
    driver: WebDriver, base_url: str, *, expect: Collection[str] = (), timeout: float = TIMEOUT
) -> list[str]:
    """The DAG ids (display names) on the DAG list page, in the order shown.

    With ``expect``, reloads the page until every one of them is listed (a DAG processor may
    still be parsing). Reads the first page only (50 DAGs by default).
    """
    from selenium.webdriver.common.by import By

    url = f"{base_url.rstrip('/')}/dags"
    driver.get(url)
    names: list[str] = []

    def listed(d: WebDriver) -> bool:
        nonlocal names
        names = [
            e.text.strip() for e in d.find_elements(By.CSS_SELECTOR, 'a[data-testid="dag-id"]')
        ]
        if names and set(expect) <= set(names):
            return True
        if expect and names:
            d.get(url)  # not all there yet: ask the API again
        return False

    what = f"the DAG list to show {sorted(expect)}" if expect else "a DAG in the DAG list"
    _wait(driver, what, listed, timeout, shown=lambda: f"shown: {names}")
    return names


def mapped_task_names(
    driver: WebDriver,
    base_url: str,
    dag_id: str,
    run_id: str,
    task_id: str,
    *,
    count: int | None = None,
    timeout: float = TIMEOUT,
) -> list[str]:
    """The names of a mapped task's instances in one run, as the UI shows them.

    That is the run's grid with the task selected, tab "Task Instances [N]": its Map Index
    column shows ``rendered_map_index`` (the ``map_index_template`` value) when there is
    one, else the bare index. With ``count``, waits for that many rows.
    """
    from selenium.webdriver.common.by import By

    driver.get(
        f"{base_url.rstrip('/')}/dags/{_seg(dag_id)}/runs/{_seg(run_id)}"
        f"/tasks/{_seg(task_id)}/mapped"
    )
    names: list[str] = []
    cells = 'td[data-testid="table-cell-rendered_map_index"]'

    def rows(d: WebDriver) -> bool:
        nonlocal names
        names = [e.text.strip() for e in d.find_elements(By.CSS_SELECTOR, cells)]
        return bool(names) and (count is None or len(names) == count) and all(names)

    what = f"{count if count is not None else 'the'} mapped instances of {dag_id}.{task_id}"
    _wait(driver, f"{what} in run {run_id}", rows, timeout, shown=lambda: f"shown: {names}")
    return names


def dag_docs_text(
    driver: WebDriver, base_url: str, dag_id: str, *, timeout: float = TIMEOUT
) -> str:
    """The DAG's rendered docs (``doc_md``): the text of the "Dag Docs" dialog, no title.

    Markdown is rendered: escapes are gone and each paragraph is a line of its own.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver.get(f"{base_url.rstrip('/')}/dags/{_seg(dag_id)}")
    button = _wait(
        driver,
        f"the Dag Docs button of {dag_id} (it exists only with doc_md)",
        _clickable(By.CSS_SELECTOR, '[data-testid="header-card"] [data-testid="markdown-button"]'),
        timeout,
    )
    button.click()
    open_dialog = '[role="dialog"][data-part="content"][data-state="open"]'

    def body(d: WebDriver) -> str | None:
        for dialog in d.find_elements(By.CSS_SELECTOR, open_dialog):
            close = dialog.find_elements(By.CSS_SELECTOR, '[data-part="close-trigger"]')
            if not close:
                continue
            # The header holds the title and the close button; the rest is the Markdown.
            header = close[0].find_element(By.XPATH, "..").text.strip()
            text = dialog.text.strip()
            text = text[len(header) :] if text.startswith(header) else text
            return text.strip() or None
        return None

    text = _wait(driver, f"the docs dialog of {dag_id}", body, timeout)
    driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    return text


def dag_owner(driver: WebDriver, base_url: str, dag_id: str, *, timeout: float = TIMEOUT) -> str:
    """The owner(s) in the DAG page's header (DagModel.owners), comma-separated."""
    from selenium.webdriver.common.by import By

    driver.get(f"{base_url.rstrip('/')}/dags/{_seg(dag_id)}")
    # Each owner is a link filtering the DAG list by it (or to its owner_links URL).
    links = '[data-testid="header-card"] a[href*="owners="]'

    def owners(d: WebDriver) -> str | None:
        found = [e.text.strip() for e in d.find_elements(By.CSS_SELECTOR, links)]
        return ", ".join(found) if found and all(found) else None

    return _wait(driver, f"the owner in the header of {dag_id}", owners, timeout)


def screenshot(driver: WebDriver, path: Path) -> Path:
    """Save what the browser shows as a PNG at ``path`` (folders created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not driver.save_screenshot(str(path)):
        raise UIError(f"could not save a screenshot to {path}")
    return path


def _wait(
    driver: WebDriver,
    what: str,
    condition: Callable[[WebDriver], T | bool | None],
    timeout: float,
    *,
    shown: Callable[[], str] | None = None,
) -> T:
    from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(
        driver, timeout, poll_frequency=0.25, ignored_exceptions=(StaleElementReferenceException,)
    )
    try:
        return wait.until(condition)  # type: ignore[arg-type]
    except TimeoutException:
        detail = f" ({shown()})" if shown else ""
        raise _failure(
            driver, f"timed out after {timeout:g} s waiting for {what}{detail}"
        ) from None


def _failure(driver: WebDriver, message: str) -> UIError:
    folder = _ARTIFACTS.get(driver) or Path(tempfile.gettempdir()) / "dagplane-ui"
    folder.mkdir(parents=True, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9]+", "-", message)[:60].strip("-")
    n = len(list(folder.glob("failure-*.png"))) + 1
    png, html = folder / f"failure-{n:02d}-{stem}.png", folder / f"failure-{n:02d}-{stem}.html"
    saved: list[str] = []
    try:
        if driver.save_screenshot(str(png)):
            saved.append(str(png))
        html.write_text(driver.page_source, encoding="utf-8")
        saved.append(str(html))
        url = driver.current_url
    except Exception as exc:  # the browser itself may be gone
        url = f"? ({type(exc).__name__})"
    return UIError(f"{message}\n  at {url}\n  saved: {', '.join(saved) or 'nothing'}")


def _visible(by: str, value: str) -> Callable[[WebDriver], WebElement | bool]:
    from selenium.webdriver.support import expected_conditions as ec

    return ec.visibility_of_element_located((by, value))


def _clickable(by: str, value: str) -> Callable[[WebDriver], WebElement | bool]:
    from selenium.webdriver.support import expected_conditions as ec

    return ec.element_to_be_clickable((by, value))


def _seg(value: str) -> str:
    # As the UI writes its own links: ':' and '+' of run ids stay as they are.
    return quote(value, safe=":+@")


def _which(override: str | None, candidates: tuple[str, ...]) -> str | None:
    if override:  # set on purpose: no fallback that would hide a wrong path
        return shutil.which(override)
    return next((found for name in candidates if (found := shutil.which(name))), None)
