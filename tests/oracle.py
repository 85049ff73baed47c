"""An oracle independent of the workers: what accepted events must add up to in /stats."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fairhub.stats import FAIR_METRICS as METRICS

# What each event type counts toward (API.md); the other types are counted nowhere.
METRIC_OF = {
    "checkin": "checkins",
    "qr_scan": "qr_scans",
    "booth_visit": "booth_visits",
    "resume_submitted": "resumes_submitted",
    "resume_downloaded": "resumes_downloaded",
    "intent_agreed": "intents",
    "consultation": "consultations",
    "live_join": "live_views",
    "hired": "hires",
}


def subject_of(ev: dict[str, Any]) -> str | None:
    """Who an event is about, for unique counts (seekers, visitors and viewers never collide)."""
    if ev["type"] in ("live_join", "live_heartbeat", "live_leave"):
        return f"viewer:{ev['viewer_id']}"
    if ev["type"] == "qr_scan" and ev.get("visitor_id"):
        return f"visitor:{ev['visitor_id']}"
    if ev.get("seeker_id"):
        return f"seeker:{ev['seeker_id']}"
    if ev.get("badge"):
        return f"badge:{ev['badge']}"
    return None


def expected_totals(accepted: Iterable[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """{metric: (total, unique)} that the accepted events (one per id) must produce."""
    counts = dict.fromkeys(METRICS, 0)
    subjects: dict[str, set[str]] = {m: set() for m in METRICS}
    for ev in accepted:
        metric = METRIC_OF.get(ev["type"])
        if metric is None:
            continue
        counts[metric] += 1
        who = subject_of(ev)
        if who is not None:
            subjects[metric].add(who)
    return {m: (counts[m], len(subjects[m])) for m in METRICS}


def as_answered(ev: dict[str, Any], status: str) -> str:
    """The status the gateway gives: a presence beat is never stored, so never a duplicate."""
    return "accepted" if ev.get("type") == "live_heartbeat" and status == "duplicate" else status
