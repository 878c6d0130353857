"""Screenshots of every map at 1400×900, for the README: ``python docs/screenshots.py [BASE_URL]``.

BASE_URL is a running service (``areavasta serve``; default http://127.0.0.1:8000) with the data and analyses
loaded. Each page is opened in Debian's Chromium, given a planner's action (a search, a click) and written to
``docs/screenshots/<name>.png``; a page whose scripts fail or that requests anything off the service stops the
run with the reason.
"""

from __future__ import annotations

import sys
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from maps.browser import CHROMIUM, CHROMIUM_FLAGS

OUT = Path(__file__).resolve().parent / "screenshots"
SIZE = {"width": 1400, "height": 900}


def _search(page: Page, name: str) -> None:
    page.fill("input[type=search]", name)
    page.press("input[type=search]", "Enter")
    page.wait_for_selector(".leaflet-popup-content")


# name, path, what a planner does before the picture
PAGES = [
    ("coverage", "/maps/coverage", lambda page: _search(page, "Cremona")),
    ("coverage-brescia", "/maps/coverage?province=017", lambda page: None),
    ("schools", "/maps/schools?level=primaria", lambda page: None),
    ("priorities", "/maps/priorities", lambda page: None),
    ("municipality", "/maps/municipality/016024", lambda page: None),
    ("landing", "/maps/", lambda page: None),
]


def main(base: str) -> None:
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        for name, path, act in PAGES:
            page = browser.new_page(viewport=SIZE)
            problems: list[str] = []
            page.on("pageerror", lambda e, p=problems: p.append(f"script error: {e}"))
            page.on("request", lambda r, p=problems: None if r.url.startswith((base, "data:")) else p.append(r.url))
            page.goto(base + path, wait_until="networkidle")
            act(page)
            page.wait_for_timeout(500)  # popups and tiles fade in
            if problems:
                raise SystemExit(f"{path}: {'; '.join(problems)}")
            page.screenshot(path=str(OUT / f"{name}.png"))
            print(f"{OUT / name}.png")
            page.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
