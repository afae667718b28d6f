"""What the scanner needs installed, which Chromium it drives, and what to say when one is missing.

The scanner needs two things besides samtycke itself: Playwright, which the ``scan`` extra
installs (``pip install 'samtycke[scan]'``; the README's first command includes it), and a
Chromium, which no Python package brings.  It takes the first of:

1. the browser named by ``--chromium`` (or ``$SAMTYCKE_CHROMIUM``, read by the command);
2. a Chromium or Chrome on ``PATH``: ``chromium``, ``chromium-browser``, ``google-chrome``,
   ``google-chrome-stable``;
3. Playwright's own download (``python -m playwright install chromium``).

When none is there, or Playwright is missing, the scan stops before it starts with one
paragraph that names the command to run, never a traceback.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

SCAN_EXTRA = "samtycke[scan]"
ON_PATH = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
INSTALL_ONE = (
    "Install one: on Debian or Ubuntu `apt-get install chromium`, or Playwright's own build "
    "with `python -m playwright install chromium`; or name a Chromium or Chrome with "
    "--chromium PATH (or $SAMTYCKE_CHROMIUM)."
)


PLAYWRIGHT_MISSING = (
    "samtycke scan needs Playwright, which the scan extra installs: "
    f"`pip install '{SCAN_EXTRA}'` (from a source checkout: `pip install -e '.[scan]'`). "
    "It also needs a Chromium. " + INSTALL_ONE
)


class BrowserMissing(Exception):
    """The scan cannot start: Playwright or Chromium is not installed.  The message says what to run."""


def require_playwright() -> None:
    if importlib.util.find_spec("playwright") is None:
        raise BrowserMissing(PLAYWRIGHT_MISSING)


def locate(given: str | None, search_path: str | None) -> str | None:
    """The browser to launch: ``given``, else one on ``search_path``; None leaves it to Playwright's own.

    A ``given`` path that is not an executable file is an error, not a reason to look elsewhere:
    the person asked for that browser.
    """
    if given:
        if not (os.path.isfile(given) and os.access(given, os.X_OK)):
            raise BrowserMissing(
                f"No Chromium at {given} (from --chromium or $SAMTYCKE_CHROMIUM). " + INSTALL_ONE
            )
        return given
    for name in ON_PATH:
        found = shutil.which(name, path=search_path)
        if found:
            return found
    return None


def playwright_own(executable: str) -> str:
    """Playwright's downloaded Chromium, given where Playwright would keep it; missing means none at all."""
    if not Path(executable).is_file():
        raise BrowserMissing("samtycke scan found no Chromium. " + INSTALL_ONE)
    return executable
