"""People on the page: a card each, a person's appearances across recordings, search by photo, and the
corrections a person can make (rename, merge, split, "not the same person", forget).

Searching needs faces found and embedded in the photo: the running service does that in a process
of its own (the page never runs a net); the uploaded photo is not kept.

Words (docs/architecture.md): an *appearance* is one of a person's tracks (one run of detections through
one recording, with one crop); a *detection* is one face box in one picture. The JSON keys ``faces``
(counts of tracks, and in a search the faces found in the photo) are older than these words: each is
kept, with ``tracks`` or ``detections`` beside it saying the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for

from ..output.manifest import read_manifest
from ..people.index import PeopleIndex
from ..service.searcher import RETRY_AFTER_S, SearchBusy, SearchError
from .auth import csrf_ok
from .context import WebContext, context

bp = Blueprint("people", __name__)
SEARCH_RESULTS = 12
NAME_MAX = 80
SUGGEST_BELOW = 0.1  # merge suggestions: people this far below the people threshold, or nearer
SUGGESTIONS = 5


def _index() -> PeopleIndex:
    index = context().people
    if index is None:
        abort(404, "the people feature is off (setting people)")
    return index


def _when(face: dict[str, Any]) -> str:
    stamp = face.get("recorded_at")
    if stamp:
        # the box's local time: a recording that names its start without a zone was read as local time
        moment = datetime.fromtimestamp(stamp + face.get("time_s", 0.0))
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    return ""


def card(person: dict[str, Any]) -> dict[str, Any]:
    best = person.get("best") or {}
    return {
        "id": person["id"],
        "name": person.get("name"),
        "faces": person.get("faces"),  # the older key of ``tracks``
        "tracks": person.get("faces"),
        "recordings": person.get("recordings"),
        "first_seen": person.get("first_recorded") or person.get("first_added"),
        "last_seen": person.get("last_recorded") or person.get("last_added"),
        "url": url_for("people.person_page", person=person["id"]),
        "watched": bool(person.get("watched")),
        "hidden": bool(person.get("hidden")),
        "face": url_for("files.result_file", relative=best["crop"]) if best else None,
        "photo_face": best.get("face"),
    }


def appearances(person: dict[str, Any]) -> list[dict[str, Any]]:
    """A person's appearances (their tracks) in time order, each with its date and time and where that time
    comes from."""
    sources = _time_sources({face["recording"] for face in person["faces"] if face.get("recorded_at")})
    return [
        {**face, "when": _when(face), "time_source": sources.get(face["recording"]),
         "face": url_for("files.result_file", relative=face["crop"])}
        for face in person["faces"]
    ]  # fmt: skip


def _time_sources(recordings: set[str]) -> dict[str, str | None]:
    """Where each recording's start time comes from (its manifest says: metadata or file name)."""
    outbox = context().outbox
    found: dict[str, str | None] = {}
    for recording in recordings:
        manifest = read_manifest(outbox / recording)
        found[recording] = manifest.source.recorded_at_source if manifest is not None else None
    return found


# -- pages -------------------------------------------------------------------------------------------
@bp.get("/people")
def people_page() -> Any:
    index = _index()
    show_hidden = request.args.get("hidden") == "1"
    people = [card(p) for p in index.people(hidden=show_hidden)]
    hidden = sum(1 for p in index.people(hidden=True) if p["hidden"])
    return render_template("people.html", people=people, results=None, show_hidden=show_hidden, hidden=hidden)


@bp.get("/people/<int:person>")
def person_page(person: int) -> Any:
    found = _index().person(person)
    if found is None:
        abort(404)
    index = _index()
    similar = index.similar_people(person, index.threshold - SUGGEST_BELOW, SUGGESTIONS)
    return render_template("person.html", person=found, card=card({**found, **_summary(found)}),
                           appearances=appearances(found), suggestions=[
                               {**card(p), "similarity": p["similarity"]} for p in similar
                           ])  # fmt: skip


def _summary(person: dict[str, Any]) -> dict[str, Any]:
    faces = person["faces"]
    recorded = [f["recorded_at"] for f in faces if f.get("recorded_at")]
    return {
        "faces": len(faces),
        "recordings": len({f["recording"] for f in faces}),
        "first_recorded": min(recorded, default=None),
        "last_recorded": max(recorded, default=None),
        "first_added": min((f["added"] for f in faces), default=None),
        "last_added": max((f["added"] for f in faces), default=None),
    }


def _action(person: int, done: bool, message: str) -> Any:
    if request.accept_mimetypes.best == "application/json":
        return jsonify(ok=done, message=message), (200 if done else 409)
    flash(message)
    return redirect(url_for("people.person_page", person=person) if done else request.referrer or "/people")


def _checked() -> None:
    if not csrf_ok():
        abort(403)


@bp.post("/people/<int:person>/rename")
def rename(person: int) -> Any:
    _checked()
    name = request.form.get("name", "").strip()[:NAME_MAX]
    done = _index().rename(person, name or None)
    return _action(person, done, f"named {name!r}" if name else "name removed")


@bp.post("/people/<int:person>/merge")
def merge(person: int) -> Any:
    _checked()
    other = request.form.get("other", type=int)
    done = other is not None and _index().merge(person, other)
    return _action(person, done, f"#{other} merged into #{person}" if done else "nothing to merge")


@bp.post("/people/merge")
def merge_selected() -> Any:
    """People picked on the grid are one person: all merged into the first picked."""
    _checked()
    picked = list(dict.fromkeys(request.form.getlist("person", type=int)))
    if len(picked) < 2:
        flash("pick two or more people to merge")
        return redirect(url_for("people.people_page"))
    keep, index = picked[0], _index()
    merged = [other for other in picked[1:] if index.merge(keep, other)]
    return _action(keep, bool(merged), f"{', '.join(f'#{m}' for m in merged)} merged into #{keep}")


@bp.post("/people/<int:person>/hide")
def hide(person: int) -> Any:
    _checked()
    hidden = request.form.get("hidden") == "1"
    done = _index().hide(person, hidden)
    return _action(person, done, "hidden from the people page" if hidden else "shown on the people page again")


@bp.post("/people/<int:person>/photo")
def choose_photo(person: int) -> Any:
    _checked()
    face = request.form.get("photo_face", type=int)
    done = face is not None and _index().choose_photo(person, face)
    return _action(person, done, "this photo stands for them now" if done else "not one of their appearances")


@bp.post("/people/<int:person>/not-same")
def not_same(person: int) -> Any:
    _checked()
    other = request.form.get("other", type=int)
    done = other is not None and other != person and _index().not_same(person, other)
    return _action(person, done, f"#{person} and #{other} are kept apart" if done else "no such people")


@bp.post("/people/<int:person>/split")
def split(person: int) -> Any:
    _checked()
    faces = request.form.getlist("face", type=int)
    new = _index().split(person, faces)
    if new is None:
        return _action(person, False, "choose some, not all, of the appearances")
    return _action(new, True, f"the chosen appearances are person #{new} now")


@bp.post("/people/<int:person>/watch")
def watch(person: int) -> Any:
    _checked()
    on = request.form.get("watched") == "1"
    done = _index().watch(person, on)
    return _action(person, done, "on the watch list: seeing them sends a watched person.seen" if on else "not watched")


@bp.post("/people/<int:person>/forget")
def forget(person: int) -> Any:
    _checked()
    deleted = _index().forget(person)
    if request.accept_mimetypes.best == "application/json":
        return jsonify(ok=deleted > 0, faces=deleted, tracks=deleted)
    flash(f"person #{person} forgotten ({deleted} appearance{'s' if deleted != 1 else ''})")
    return redirect(url_for("people.people_page"))


@bp.post("/people/search")
def search_page() -> Any:
    ctx = context()
    found, status, headers = search(ctx, request.files.get("photo"))
    people = [card(p) for p in _index().people()]
    return render_template("people.html", people=people, results=found), status, headers


# -- API ---------------------------------------------------------------------------------------------
@bp.get("/api/people")
def people_api() -> Any:
    index = _index()
    tracks = index.count()["faces"]
    return jsonify(people=[card(p) for p in index.people()], faces=tracks, tracks=tracks)


@bp.get("/api/people/<int:person>")
def person_api(person: int) -> Any:
    found = _index().person(person)
    if found is None:
        return jsonify(error="no such person"), 404
    return jsonify({**card({**found, **_summary(found)}), "appearances": appearances(found)})


@bp.post("/api/search")
def search_api() -> Any:
    found, status, headers = search(context(), request.files.get("photo"))
    return jsonify(found), status, headers


def search(ctx: WebContext, upload: Any) -> tuple[dict[str, Any], int, dict[str, str]]:
    """Ranked matches for the largest face of an uploaded photo (the photo is read, never kept), the
    status and headers: a busy search is refused at once with when to try again."""
    index = _index()
    if upload is None:
        return {"error": "no photo: send it as the form field 'photo'"}, 400, {}
    if ctx.service is None:
        return {"error": "search runs in the appliance's service (appliance serve)"}, 503, {}
    data = upload.read()
    try:
        faces = ctx.service.search_photo(data)
    except SearchBusy as exc:
        return {"error": str(exc)}, 503, {"Retry-After": str(RETRY_AFTER_S)}
    except SearchError as exc:
        return {"error": str(exc)}, 422, {}
    if not faces:
        return {"error": "no face found in the photo", "faces": 0, "detections": 0}, 422, {}
    matches = index.search(faces[0].embedding, SEARCH_RESULTS)
    note = f"{len(faces)} faces in the photo: the largest was searched" if len(faces) > 1 else None
    return {
        "faces": len(faces),  # the older key of ``detections``
        "detections": len(faces),
        "note": note,
        "box": [round(v, 1) for v in faces[0].box],
        "matches": [
            {**m.face, "similarity": m.similarity, "same_person": m.similarity >= index.threshold,
             "when": _when(m.face), "face": url_for("files.result_file", relative=m.face["crop"]),
             "person_url": url_for("people.person_page", person=m.face["person"])}
            for m in matches
        ],
    }, 200, {}  # fmt: skip
