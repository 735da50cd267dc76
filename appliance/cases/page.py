"""``index.html``: the case for a person to look at, offline (no script, no font, nothing fetched).

A timeline of the appearances (placed by time of day where the recordings give it, in order
otherwise), then one row per appearance: its crop, its time, its clip (a ``<video>`` of the file
beside the page), and what was redacted or could not be exported.
"""

from __future__ import annotations

from html import escape
from typing import Any

STYLE = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:70em}
h1{font-size:1.4em}.muted{color:#666}.warn{color:#a40}
.timeline{position:relative;height:3.2em;border-bottom:2px solid #888;margin:1.5em 0 2.5em}
.mark{position:absolute;bottom:0;transform:translateX(-50%);text-align:center;font-size:.75em}
.mark img{width:2.4em;height:2.4em;object-fit:cover;border:1px solid #888;display:block;margin:auto}
.appearance{display:flex;gap:1em;border-top:1px solid #ddd;padding:1em 0}
.appearance img.crop{width:8em;height:8em;object-fit:cover}
video{max-width:40em;width:100%;background:#000}
table{border-collapse:collapse}td,th{padding:.2em .6em;text-align:left;font-size:.9em}
"""


def case_page(record: dict[str, Any]) -> str:
    case = record["case"]
    request = case["request"]
    who = ", ".join(_person(p) for p in record["people"])
    rows = "\n".join(_appearance(a) for a in record["appearances"])
    notes = "".join(f"<li class=warn>{escape(n)}</li>" for n in record["notes"])
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Case: {escape(who)}</title>
<style>{STYLE}</style></head><body>
<h1>Appearances of {escape(who)}</h1>
<p class=muted>Exported {escape(case["created"])} by {escape(case["created_by"])} with appliance
{escape(case["appliance_version"])}. Faces blurred: <b>{escape(str(request["redact"]))}</b>; clips padded
{request["pad_s"]} s. Every file's sha256 is in <code>case.json</code> and <code>SHA256SUMS</code>
(<code>sha256sum -c SHA256SUMS</code> checks them).</p>
{f"<ul>{notes}</ul>" if notes else ""}
{_timeline(record["appearances"])}
{rows}
</body></html>
"""


def _person(person: dict[str, Any]) -> str:
    return f"#{person['id']}" + (f" {person['name']}" if person.get("name") else "")


def _timeline(appearances: list[dict[str, Any]]) -> str:
    if not appearances:
        return ""
    stamps = [a.get("started_epoch") for a in appearances]
    timed = [s for s in stamps if s is not None]
    low, high = (min(timed), max(timed)) if timed else (0.0, 0.0)
    marks = []
    for n, (appearance, stamp) in enumerate(zip(appearances, stamps, strict=True)):
        if stamp is not None and high > low:
            left = 4 + 92 * (stamp - low) / (high - low)
        else:
            left = 4 + 92 * (n + 0.5) / len(appearances)
        label = appearance.get("started") or f"{appearance['start_s']:.0f} s"
        marks.append(
            f'<a class=mark style="left:{left:.1f}%" href="#{escape(appearance["id"])}">'
            f'<img src="{escape(appearance["crop"] or "")}" alt="">{escape(label[11:19] or label)}</a>'
        )
    return f'<div class=timeline title="time of day">{"".join(marks)}</div>'


def _appearance(a: dict[str, Any]) -> str:
    when = escape(a["started"]) if a.get("started") else "time of day unknown"
    source = f" ({escape(a['time_source'])})" if a.get("time_source") else ""
    crop = f'<img class=crop src="{escape(a["crop"])}" alt="best photo">' if a.get("crop") else ""
    if a.get("clip"):
        clip = f'<video controls preload="metadata" src="{escape(a["clip"])}"></video>'
    else:
        clip = f"<p class=warn>No clip: {escape(a.get('missing') or 'not exported')}</p>"
    facts = [
        ("Person", f"#{a['person']}"),
        ("Recording", escape(a["title"])),
        ("Seen", f"{a['start_s']:.1f} s to {a['end_s']:.1f} s of the recording"),
        ("Clip", f"{a['clip_start_s']:.1f} s to {a['clip_end_s']:.1f} s" if a.get("clip") else "-"),
        ("Faces blurred", str(a.get("faces_blurred", 0))),
    ]
    if a.get("frames_searched_at_export"):
        facts.append(
            ("Searched at export", f"{a['frames_searched_at_export']} frame(s) outside the analysed stretches")
        )
    table = "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in facts)
    return (
        f'<div class=appearance id="{escape(a["id"])}">{crop}<div><h2>{escape(a["id"])}: {when}{source}</h2>'
        f"<table>{table}</table>{clip}</div></div>"
    )
