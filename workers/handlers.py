"""One handler per event type: what an event counts toward, and for whom.

A handler turns a validated event (as the gateway wrote it into the stream) into a Fact: the
metric it adds to, the subject whose distinct count it may raise, and the dimensions it is
broken down by. Subjects carry a prefix so that seekers, visitors and viewers never collide.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Payload = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Fact:
    metric: str | None  # None: kept in the event log, counted nowhere
    subject: str | None
    employer_id: str | None = None
    position_id: str | None = None
    session_id: str | None = None
    seeker_id: str | None = None  # the registry's seeker, for the breakdown by school
    outcome: str | None = None  # a scan's verdict, a résumé's channel


def _seeker(event: Payload) -> str | None:
    if event.get("seeker_id"):
        return f"s:{event['seeker_id']}"
    if event.get("badge"):
        # A badge the gateway could not resolve (a forgery, another fair's): its text.
        return f"b:{event['badge']}"
    return None


# Verdicts that let someone in; the gateway stores denied scans too, counted apart.
_ENTERED = frozenset({"admitted", "reentry"})


def checkin(event: Payload) -> Fact:
    verdict = event.get("verdict")
    metric = "checkins" if verdict is None or verdict in _ENTERED else "checkins_denied"
    return Fact(metric, _seeker(event), seeker_id=event.get("seeker_id"), outcome=verdict)


def qr_scan(event: Payload) -> Fact:
    visitor = "v:" + event["visitor_id"] if event.get("visitor_id") else _seeker(event)
    target, target_id = event["target"], event.get("target_id")
    return Fact(
        "qr_scans",
        visitor,
        # A position's page belongs to its employer too; the gateway records which one.
        employer_id=target_id if target == "employer" else event.get("employer_id"),
        position_id=target_id if target == "position" else None,
        seeker_id=event.get("seeker_id"),
    )


def booth_visit(event: Payload) -> Fact:
    return Fact(
        "booth_visits",
        _seeker(event),
        employer_id=event["employer_id"],
        seeker_id=event.get("seeker_id"),
    )


def resume_submitted(event: Payload) -> Fact:
    return Fact(
        "resumes_submitted",
        _seeker(event),
        employer_id=event["employer_id"],
        position_id=event.get("position_id"),
        session_id=event.get("session_id"),
        seeker_id=event.get("seeker_id"),
        outcome=event["channel"],  # online / onsite / live: the report splits them
    )


def resume_downloaded(event: Payload) -> Fact:
    return Fact(
        "resumes_downloaded",
        _seeker(event),
        employer_id=event.get("employer_id"),
        seeker_id=event.get("seeker_id"),
    )


def intent_agreed(event: Payload) -> Fact:
    return Fact(
        "intents",
        _seeker(event),
        employer_id=event["employer_id"],
        position_id=event.get("position_id"),
        seeker_id=event.get("seeker_id"),
    )


def consultation(event: Payload) -> Fact:
    viewer = "v:" + event["viewer_id"] if event.get("viewer_id") else None
    return Fact(
        "consultations",
        _seeker(event) or viewer,
        employer_id=event.get("employer_id"),
        position_id=event.get("position_id"),
        session_id=event.get("session_id"),
        seeker_id=event.get("seeker_id"),
    )


def live_join(event: Payload) -> Fact:
    return Fact("live_views", "v:" + event["viewer_id"], session_id=event["session_id"])


def live_leave(event: Payload) -> Fact:
    return Fact(None, "v:" + event["viewer_id"], session_id=event["session_id"])


# The chain after the fair, in an alliance's space (fair_id holds the alliance id). The gateway
# has resolved the references: `person` is who (seeker or phone key), `member_id` the member
# the figure belongs to (the institution of an offer, the enterprise of an internship or hire).
# Columns are reused: employer_id holds the member, position_id the offer, outcome the channel
# of a hire, the level of a certificate or the semester of an internship.


def _in_alliance(metric: str, event: Payload, outcome: str | None = None) -> Fact:
    return Fact(
        metric,
        event.get("person"),
        employer_id=event.get("member_id"),
        position_id=event.get("offer_id"),
        outcome=outcome,
    )


def training_signup(event: Payload) -> Fact:
    return _in_alliance("training_signups", event)


def training_completed(event: Payload) -> Fact:
    return _in_alliance("training_completions", event)


def skill_certified(event: Payload) -> Fact:
    return _in_alliance("certifications", event, event["level"])


def internship_started(event: Payload) -> Fact:
    return _in_alliance("internships", event, event["semester"])


def hired(event: Payload) -> Fact:
    if "person" in event:  # sent to an alliance
        return _in_alliance("hires", event, event["channel"])
    # Recorded at a fair by its employer: counted for the employer, which adds up to its
    # alliance member's figures through the employer's member link.
    return Fact(
        "hires",
        _seeker(event),
        employer_id=event["employer_id"],
        position_id=event.get("position_id"),
        seeker_id=event.get("seeker_id"),
        outcome=event["channel"],
    )


HANDLERS: dict[str, Callable[[Payload], Fact]] = {
    "checkin": checkin,
    "qr_scan": qr_scan,
    "booth_visit": booth_visit,
    "resume_submitted": resume_submitted,
    "resume_downloaded": resume_downloaded,
    "intent_agreed": intent_agreed,
    "consultation": consultation,
    "live_join": live_join,
    "live_leave": live_leave,
    "training_signup": training_signup,
    "training_completed": training_completed,
    "skill_certified": skill_certified,
    "internship_started": internship_started,
    "hired": hired,
}

# Presence beats are too many to keep one row each; they live in Redis (livestream issue).
NOT_STORED = frozenset({"live_heartbeat"})
