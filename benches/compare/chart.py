#!/usr/bin/env python3
"""The README's chart from a run of benches/compare/run.py: a few panels a
person can read at a glance (closed loop, pipelined, large messages, memory per
idle connection, instructions per message). Each panel is one load; each row
one peer, with simdws's advantage over it as a bar on a log scale around 1×
and both absolute figures beside it.

    python3 benches/compare/chart.py [target/compare/results.json] [docs/compare-chart.svg]
"""
import json
import math
import os
import sys
from xml.sax.saxutils import escape

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# (title, the load's key in results["points"], what is measured)
THROUGHPUT_PANELS = [
    ("Closed loop, messages/s: 100 connections × 20 B text, 1 in flight", (100, 20, 1, True)),
    ("Pipelined, messages/s: 100 connections × 20 B text, 16 in flight", (100, 20, 16, True)),
    ("Large messages, messages/s: 100 connections × 64 KiB text, 1 in flight", (100, 65536, 1, True)),
]

# Names as people know them, where the harness's short names differ.
DISPLAY = {"uws": "uWebSockets"}

WIDTH = 1000
LABEL_W = 160  # peer names end here
AXIS_X = 330  # where 1× sits
HALF = 150  # pixels from 1× to the end of the axis on either side
SPAN = 16.0  # the axis runs from 1/SPAN× to SPAN×
ROW_H = 26
AHEAD, BEHIND = "#2b8a3e", "#d9480f"


def human(value, unit):
    if value is None:
        return "—"
    for div, suffix in ((1e6, "M"), (1e3, "k")):
        if value >= div:
            return f"{value / div:.{2 if suffix == 'M' else 1}f}{suffix}{unit}"
    return f"{value:,.0f}{unit}"


def bar_x(ratio):
    """x of a ratio on the log axis, clamped to its ends."""
    ratio = min(max(ratio, 1 / SPAN), SPAN)
    return AXIS_X + HALF * math.log(ratio) / math.log(SPAN)


def panel(svg, y, title, rows, better, unit):
    """One panel: `rows` are (peer, simdws's figure, the peer's figure), each
    figure a (value, text) pair or None; `better` is "higher" or "lower".
    Returns the y below it."""
    words = ("faster", "slower") if better == "higher" else ("less", "more")
    svg.append(f'<text x="20" y="{y + 18}" font-size="16" font-weight="bold">{escape(title)}</text>')
    y += 30
    # The axis: 1× in the middle, and the ratios marked along it.
    top, bottom = y, y + ROW_H * max(len(rows), 1)
    for mark in (1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8):
        x = bar_x(mark)
        svg.append(f'<line x1="{x:.1f}" y1="{top - 2}" x2="{x:.1f}" y2="{bottom}" '
                   f'stroke="{"#333" if mark == 1 else "#ddd"}" stroke-width="{1.5 if mark == 1 else 1}"/>')
        label = f"{mark:g}×" if mark >= 1 else f"1/{1 / mark:g}"
        svg.append(f'<text x="{x:.1f}" y="{bottom + 14}" font-size="11" fill="#666" text-anchor="middle">{label}</text>')
    if not rows:
        svg.append(f'<text x="{AXIS_X + 10}" y="{y + 17}" font-size="13" fill="#666">not measured in this run</text>')
    for i, (peer, ours, theirs, suffix) in enumerate(rows):
        row_y = y + i * ROW_H
        svg.append(f'<text x="{LABEL_W}" y="{row_y + 17}" font-size="14" text-anchor="end">{escape(peer)}</text>')
        if not ours or not theirs:
            svg.append(f'<text x="{AXIS_X + 8}" y="{row_y + 17}" font-size="13" fill="#666">no figure</text>')
            continue
        advantage = ours[0] / theirs[0] if better == "higher" else theirs[0] / ours[0]
        x1, x0 = bar_x(advantage), AXIS_X
        colour = AHEAD if advantage >= 1 else BEHIND
        svg.append(f'<rect x="{min(x0, x1):.1f}" y="{row_y + 4}" width="{max(abs(x1 - x0), 1.5):.1f}" '
                   f'height="{ROW_H - 8}" fill="{colour}"/>')
        times = max(advantage, 1 / advantage)
        verdict = (f"{times:.0f}×" if times >= 100 else f"{times:.2f}×") + " " + words[advantage < 1]
        svg.append(f'<text x="{AXIS_X + HALF + 12}" y="{row_y + 17}" font-size="14" font-weight="bold" '
                   f'fill="{colour}">{verdict}</text>')
        svg.append(f'<text x="{AXIS_X + HALF + 135}" y="{row_y + 17}" font-size="13" fill="#333">'
                   f'{escape(f"simdws {ours[1]} · {peer} {theirs[1]} {unit}{suffix}")}</text>')
    return bottom + 30


def exact(unit):
    return lambda value: f"{value:,.0f}{unit}"


def rows_for(values, text=lambda v: human(v, ""), suffix=""):
    """(peer, simdws's figure, the peer's figure) rows from {server: value};
    `text` shows a value, `suffix` is added to the row's figures."""
    figure = lambda v: (v, text(v)) if v else None
    ours = figure(values.get("simdws"))
    # simdws-tokio and simdws-axum are simdws under other loops, not peers.
    return [(DISPLAY.get(name, name), ours, figure(theirs), suffix)
            for name, theirs in values.items() if not name.startswith("simdws")]


def draw(results):
    panels = []
    points = {(r["conns"], r["size"], r["pipeline"], r["text"]): r for r in results.get("points", [])}
    for title, key in THROUGHPUT_PANELS:
        row = points.get(key)
        values = {n: s.get("msgs_per_s") for n, s in row["servers"].items()} if row else {}
        panels.append((title, rows_for(values), "higher", "msgs/s"))
    idle = results.get("idle", {})
    count = max((int(c) for v in idle.values() for c in v), default=None)
    if count:
        values = {n: (v.get(str(count)) or v.get(count) or {}).get("bytes_per_conn") for n, v in idle.items()}
        panels.append((f"Memory: server RSS per idle connection, {count:,} open",
                       rows_for(values, exact(" B")), "lower", ""))
    for load, servers in results.get("instructions", {}).items():
        panels.append((f"User-space instructions per echoed message, callgrind: {load}",
                       rows_for(servers, exact("")), "lower", ""))
    height = 70 + sum(30 + ROW_H * max(len(rows), 1) + 30 for _, rows, _, _ in panels) + 10
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Arial, sans-serif">',
           f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
           '<text x="20" y="28" font-size="20" font-weight="bold">simdws against each peer</text>',
           '<text x="20" y="50" font-size="13" fill="#444">Each server on one core, simdws load on the other. '
           'Green bars to the right: simdws ahead by that factor; orange to the left: behind.</text>']
    y = 64
    for title, rows, better, unit in panels:
        y = panel(svg, y, title, rows, better, unit)
    svg.append("</svg>")
    return "\n".join(svg) + "\n"


def main():
    source = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "compare", "results.json")
    target = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "docs", "compare-chart.svg")
    with open(source) as f:
        results = json.load(f)
    with open(target, "w") as f:
        f.write(draw(results))
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
