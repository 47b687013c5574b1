"""Every text colour meets WCAG AA contrast (4.5:1) on the ground it is drawn on: the style
sheet's rules, and the colours views set in code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIGHT_GROUNDS = ("#ffffff", "#f8fafc")  # cards and tables; the pages' ground
SIDEBAR = "#0f172a"
# Rules whose text sits on a ground their own rule does not give.
GROUNDS = {
    "QLabel#brand": (SIDEBAR,),
    "QListWidget#navigation::item": (SIDEBAR,),
    "QListWidget#navigation::item:disabled": (SIDEBAR,),  # the section headings: read, too
    "QLabel#sidebarFooter": (SIDEBAR,),
    'QLabel#formulaMessage[state="error"], QLabel#pageMessage[state="error"]': (
        *LIGHT_GROUNDS,
        "#fff7ed",  # a page message's ground
    ),
    'QLabel#formulaMessage[state="ok"], QLabel#pageMessage[state="ok"]': (
        *LIGHT_GROUNDS,
        "#fff7ed",
    ),
}
AA = 4.5


def luminance(colour: str) -> float:
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def style_sheet_rules() -> list[tuple[str, str, tuple[str, ...]]]:
    """(selector, text colour, grounds) of each rule of the theme that sets a text colour,
    but disabled controls' (WCAG asks no contrast of an inactive control)."""
    text = re.sub(r"/\*.*?\*/", "", (ROOT / "resources/theme.qss").read_text(), flags=re.S)
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^}]*)\}", text):
        selector = " ".join(selector.split())
        colour = re.search(r"(?<![-\w])color:\s*(#[0-9a-fA-F]{6})", body)
        if colour is None:
            continue
        if ":disabled" in selector and selector not in GROUNDS:
            continue
        ground = re.search(r"background(?:-color)?:\s*(#[0-9a-fA-F]{6})", body)
        grounds = GROUNDS.get(selector) or ((ground.group(1),) if ground else LIGHT_GROUNDS)
        rules.append((selector, colour.group(1).lower(), grounds))
    return rules


def colours_set_in_code() -> list[tuple[str, str]]:
    """Text colours the views give in code: 'color: #…' in a style sheet, and the tiles' and
    lists' named text colours. All are drawn on a card or a page."""
    found = []
    for path in sorted((ROOT / "desktop/views").glob("*.py")):
        for line in path.read_text().splitlines():
            if "color:" in line:  # a style sheet's text colour, in a literal or chosen in one
                for colour in re.findall(r"#[0-9a-fA-F]{6}\b", line):
                    found.append((path.name, colour.lower()))
    from desktop.views import alerts_page, dashboard_tiles

    for name, colour in dashboard_tiles.STATUS_COLOURS.items():
        found.append((f"dashboard_tiles.STATUS_COLOURS[{name}]", colour))
    found.append(("dashboard_tiles.MUTED", dashboard_tiles.MUTED))
    found.append(("alerts_page.BAD", alerts_page.BAD.name()))
    found.append(("alerts_page.MUTED", alerts_page.MUTED.name()))
    return found


def test_the_rules_are_read():
    selectors = {selector for selector, _colour, _grounds in style_sheet_rules()}
    assert {"QLabel#pageSubtitle", "QLabel#tileTitle", "QStatusBar"} <= selectors
    assert len(colours_set_in_code()) >= 8


@pytest.mark.parametrize(("selector", "colour", "grounds"), style_sheet_rules())
def test_each_style_sheet_text_colour_meets_aa(selector, colour, grounds):
    for ground in grounds:
        ratio = contrast(colour, ground)
        assert ratio >= AA, f"{selector}: {colour} on {ground} is {ratio:.2f}:1"


@pytest.mark.parametrize(("where", "colour"), colours_set_in_code())
def test_each_text_colour_set_in_code_meets_aa(where, colour):
    for ground in LIGHT_GROUNDS:
        ratio = contrast(colour, ground)
        assert ratio >= AA, f"{where}: {colour} on {ground} is {ratio:.2f}:1"
