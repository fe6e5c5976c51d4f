"""One look for every survival chart, the explorer's and the report's: a colour-blind-safe palette
with a stable colour per group value, the line styles, and the contrast rules they keep.

Colours are Okabe & Ito's (2008) eight, ordered so that the ones with at least 3:1 contrast on
white come first (blue, vermillion, green, reddish purple, black), then orange and sky blue, and
yellow last (1.3:1 on white: a fill, never a line of its own if it can be helped).

``group_colours(field, names)`` gives each group value the same colour wherever it is drawn, on
the web and in the report, whatever the other groups of the figure:

- the values of a closed vocabulary (transfer types, size classes, "all", "unknown") have a fixed
  place in the palette;
- a cohort year (or band) takes the colour of its (first) year modulo seven, so consecutive years
  always differ;
- any other value (a country, a sector, a federation) a place derived from a checksum of its code.

Only when two groups of the same figure claim the same colour does the later one (in code order)
move to the next free colour; with eight groups or fewer every group still has its own colour.

Line strokes use ``stroke(colour)``: the palette colour darkened, hue kept, to at least 3:1 on
white (WCAG non-text contrast), so that a curve, its dashed tail and its censor marks stay
visible; bands and swatches use the palette colour itself. Text (numbers at risk, labels) is black.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping

#: Okabe & Ito's palette, strongest on white first.
PALETTE: tuple[str, ...] = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#000000", "#E69F00", "#56B4E9", "#F0E442")
#: The colours a value is placed among before any collision (yellow only as a last resort).
_CYCLE = len(PALETTE) - 1
#: Text on a figure: black (21:1 on white).
TEXT = "#000000"
#: Secondary text and rules: 0.25 grey (10.4:1 on white).
MUTED_TEXT = "#404040"
GRID = "#E5E5E5"

#: Line styles (matplotlib dash tuples). A group's curve is solid; where few cases remain at risk
#: it goes on dashed (not faded: a transparent line loses its contrast); the expected (baseline)
#: survival is a longer, thinner dash; competing outcomes: closure solid, loss dash-dot.
SOLID = "solid"
TAIL = (0, (3.0, 2.0))
EXPECTED = (0, (7.0, 3.5))
LOSS = (0, (6.0, 2.0, 1.5, 2.0))
#: Line styles that tell groups apart when there are more groups than colours.
GROUP_LINESTYLES: tuple[object, ...] = (SOLID, (0, (1.0, 1.5)), (0, (6.0, 2.0, 1.5, 2.0)), (0, (9.0, 3.0)))

CURVE_WIDTH = 1.8
EXPECTED_WIDTH = 1.2
BAND_ALPHA = 0.16
MIN_LINE_CONTRAST = 3.0
MIN_TEXT_CONTRAST = 4.5

#: Fixed places of the values of closed vocabularies.
_FIXED: Mapping[str, Mapping[str, int]] = {
    "transfer_type": {"succession": 0, "rescue": 1, "conversion": 2, "other": 3},
    "size_class": {"0-9": 0, "10-49": 1, "50-249": 2, "250+": 3},
    "endpoint": {"enterprise": 0, "cooperative": 1},
}
_ALWAYS = {"all": 0, "unknown": 4}
_YEAR = re.compile(r"^(\d{4})")


def _preferred(field: str | None, name: str) -> int:
    if name in _ALWAYS:
        return _ALWAYS[name]
    first = name.split(" / ")[0]  # two grouping fields: "rescue / FR" goes by its first part
    fixed = _FIXED.get(field or "", {})
    if first in fixed:
        return fixed[first]
    year = _YEAR.match(first)
    if field == "cohort" and year:
        return int(year.group(1)) % _CYCLE
    return zlib.crc32(first.encode("utf-8")) % _CYCLE


def group_colours(field: str | None, names: Iterable[str]) -> dict[str, str]:
    """Each group name's colour: stable for a value of ``field`` (a grouping field such as
    ``transfer_type``, ``country``, ``cohort``; None when not grouped), distinct within a figure
    of up to eight groups. Beyond eight the colours repeat (tell them apart with
    ``group_linestyles``)."""
    names = list(dict.fromkeys(str(n) for n in names))
    out: dict[str, str] = {}
    taken: set[int] = set()
    for name in sorted(names, key=lambda n: (_preferred(field, n), n)):
        place = _preferred(field, name)
        if len(taken) < len(PALETTE):
            while place in taken:
                place = (place + 1) % len(PALETTE)
        taken.add(place)
        out[name] = PALETTE[place]
    return {name: out[name] for name in names}


def group_linestyles(field: str | None, names: Iterable[str]) -> dict[str, object]:
    """Solid, unless a colour of ``group_colours`` is shared (beyond eight groups): then the second
    group of that colour is dotted, the third dash-dot, the fourth long-dashed."""
    colours = group_colours(field, names)
    seen: dict[str, int] = {}
    out: dict[str, object] = {}
    for name in sorted(colours, key=lambda n: (_preferred(field, n), n)):
        count = seen.get(colours[name], 0)
        seen[colours[name]] = count + 1
        out[name] = GROUP_LINESTYLES[count % len(GROUP_LINESTYLES)]
    return {name: out[name] for name in colours}


# --- contrast ---------------------------------------------------------------------------------------

def _rgb(colour: str) -> tuple[float, float, float]:
    text = colour.lstrip("#")
    return int(text[0:2], 16) / 255, int(text[2:4], 16) / 255, int(text[4:6], 16) / 255


def _luminance(rgb: tuple[float, float, float]) -> float:
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(colour: str, background: str = "#FFFFFF") -> float:
    """WCAG contrast ratio of two ``#RRGGBB`` colours."""
    a, b = _luminance(_rgb(colour)), _luminance(_rgb(background))
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def stroke(colour: str, minimum: float = MIN_LINE_CONTRAST) -> str:
    """``colour`` darkened (same hue) until it has ``minimum`` contrast on white."""
    r, g, b = _rgb(colour)
    factor = 1.0
    while contrast(_hex((r * factor, g * factor, b * factor))) < minimum and factor > 0:
        factor -= 0.02
    return _hex((r * factor, g * factor, b * factor))


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{max(0, min(255, round(c * 255))):02X}" for c in rgb)


__all__ = ["BAND_ALPHA", "CURVE_WIDTH", "EXPECTED", "EXPECTED_WIDTH", "GRID", "GROUP_LINESTYLES", "LOSS",
           "MUTED_TEXT", "PALETTE", "SOLID", "TAIL", "TEXT", "contrast", "group_colours", "group_linestyles",
           "stroke"]
