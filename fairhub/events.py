"""The event envelope: one discriminated union, validated at the edge and never again inside."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    field_validator,
    model_validator,
)

EventId = Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[\w.:@-]+$")]
Ref = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[\w.:@-]+$")]
# No NUL anywhere: Postgres text and jsonb cannot hold it, so it would poison the worker.
_NO_NUL = r"^[^\x00]*$"
Badge = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=_NO_NUL)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=_NO_NUL)]
Topic = Annotated[str, StringConstraints(max_length=500, pattern=_NO_NUL)]

# Scanners' clocks drift; an event from further ahead than this is a broken clock, not data.
MAX_CLOCK_SKEW = timedelta(hours=1)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_CLOCK_SKEW_SECONDS = MAX_CLOCK_SKEW.total_seconds()
EARLIEST_SECONDS = EARLIEST.timestamp()


def _rfc3339_text(value: object) -> object:
    """A time must come as RFC 3339 text: pydantic would read 0 as 1970-01-01 otherwise."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an RFC 3339 date-time string with an offset")
    return value


def _not_a_truth_value(value: object) -> object:
    """JSON `true` is not the number 1 (pydantic's lax mode would take it): the schema says
    integer. Text digits stay accepted, for spreadsheets' cells."""
    if isinstance(value, bool):
        raise ValueError("must be an integer, not true or false")
    return value


# A whole number from a client: an integer (or digits from a CSV cell), never a boolean.
Count = Annotated[int, BeforeValidator(_not_a_truth_value)]

# A time from a client, as the schema says: `format: date-time`, a string, with an offset.
Moment = Annotated[AwareDatetime, BeforeValidator(_rfc3339_text)]
OCCURRED_AT = (
    "When it happened, from the scanner's clock: RFC 3339 with an offset, not before "
    "2000-01-01T00:00:00Z and at most 1 hour ahead of the server's clock (422 otherwise)."
)


class _Event(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: EventId = Field(
        description="Client-chosen idempotency key: the same id twice is one event."
    )
    occurred_at: Moment = Field(
        description=OCCURRED_AT, json_schema_extra={"formatMinimum": "2000-01-01T00:00:00Z"}
    )

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime) -> datetime:
        # In seconds: comparing aware datetimes asks each for its offset (1.4 us an event).
        moment = value.timestamp()
        if moment > time.time() + MAX_CLOCK_SKEW_SECONDS:
            raise ValueError("occurred_at is in the future; check the device clock")
        if moment < EARLIEST_SECONDS:
            raise ValueError("occurred_at is before 2000-01-01")
        return value


def _one_of(model: BaseModel, first: str, second: str) -> None:
    # Runs for every event of a batch: two dict reads, no generator (it showed in profiles).
    fields = model.__dict__
    if fields[first] is None and fields[second] is None:
        raise ValueError(f"one of {first}, {second} is required")


class Checkin(_Event):
    """A seeker passes a gate."""

    type: Literal["checkin"]
    badge: Badge | None = None
    seeker_id: Ref | None = None
    gate: Label | None = None

    @model_validator(mode="after")
    def _who(self) -> Checkin:
        _one_of(self, "badge", "seeker_id")
        return self


class QrScan(_Event):
    """A phone opened a fair page through a QR code."""

    type: Literal["qr_scan"]
    target: Literal["fair", "employer", "position"]
    target_id: Ref | None = None
    seeker_id: Ref | None = None
    visitor_id: Ref | None = None

    @model_validator(mode="after")
    def _target(self) -> QrScan:
        if self.target != "fair" and self.target_id is None:
            raise ValueError(f"target_id is required when target is {self.target}")
        return self


class BoothVisit(_Event):
    """A booth scanned a seeker's badge: a lead."""

    type: Literal["booth_visit"]
    employer_id: Ref
    badge: Badge | None = None
    seeker_id: Ref | None = None

    @model_validator(mode="after")
    def _who(self) -> BoothVisit:
        _one_of(self, "badge", "seeker_id")
        return self


# Where a résumé came from: at a booth, from a phone page or an integration, from a livestream.
Channel = Literal["onsite", "online", "live"]
CHANNELS: tuple[str, ...] = get_args(Channel)


class ResumeSubmitted(_Event):
    """A résumé reached an employer."""

    type: Literal["resume_submitted"]
    seeker_id: Ref
    employer_id: Ref
    position_id: Ref | None = None
    channel: Channel
    session_id: Ref | None = None


class ResumeDownloaded(_Event):
    """An employer downloaded a résumé."""

    type: Literal["resume_downloaded"]
    resume_id: Ref | None = None
    seeker_id: Ref | None = None
    employer_id: Ref | None = None

    @model_validator(mode="after")
    def _which(self) -> ResumeDownloaded:
        if self.resume_id is None and (self.seeker_id is None or self.employer_id is None):
            raise ValueError("resume_id, or both seeker_id and employer_id, are required")
        return self


class IntentAgreed(_Event):
    """A preliminary employment intent."""

    type: Literal["intent_agreed"]
    seeker_id: Ref
    employer_id: Ref
    position_id: Ref | None = None


class Consultation(_Event):
    """A question at a desk, booth or stream."""

    type: Literal["consultation"]
    seeker_id: Ref | None = None
    employer_id: Ref | None = None
    session_id: Ref | None = None
    position_id: Ref | None = None  # the position the question is about
    viewer_id: Ref | None = None  # a livestream viewer who asked
    topic: Topic | None = None


class LiveJoin(_Event):
    """A livestream viewer joined."""

    type: Literal["live_join"]
    session_id: Ref
    viewer_id: Ref


class LiveHeartbeat(_Event):
    """A livestream viewer is still watching."""

    type: Literal["live_heartbeat"]
    session_id: Ref
    viewer_id: Ref


class LiveLeave(_Event):
    """A livestream viewer left."""

    type: Literal["live_leave"]
    session_id: Ref
    viewer_id: Ref


# How a hire came about: recorded by a fair's employer, or sent to an alliance.
HireChannel = Literal["fair", "livestream", "training", "internship", "other"]
HIRE_CHANNELS: tuple[str, ...] = get_args(HireChannel)
Occupation = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100, pattern=_NO_NUL)
]


class FairHired(_Event):
    """An employer of the fair hired a seeker; its alliance member, if any, gets the hire too."""

    type: Literal["hired"]
    employer_id: Ref
    seeker_id: Ref
    position_id: Ref | None = None
    occupation: Occupation | None = None
    channel: HireChannel = "fair"


Event = Annotated[
    Checkin
    | QrScan
    | BoothVisit
    | ResumeSubmitted
    | ResumeDownloaded
    | IntentAgreed
    | Consultation
    | LiveJoin
    | LiveHeartbeat
    | LiveLeave
    | FairHired,
    Field(discriminator="type"),
]
EVENT_TYPES: tuple[str, ...] = (
    "checkin",
    "qr_scan",
    "booth_visit",
    "resume_submitted",
    "resume_downloaded",
    "intent_agreed",
    "consultation",
    "live_join",
    "live_heartbeat",
    "live_leave",
    "hired",
)

event_adapter: TypeAdapter[Event] = TypeAdapter(Event)


def validate_event(raw: Any) -> Event:
    """One event from a client (ValidationError if it is not one): the adapter's own validator,
    called directly (TypeAdapter.validate_python's wrapper costs 0.4 us an event, 13 %)."""
    event: Event = event_adapter.validator.validate_python(raw)
    return event


# The counted metrics (API.md); each has a total (人次) and a unique count (人数).
METRICS: tuple[str, ...] = (
    "checkins",
    "checkins_denied",
    "qr_scans",
    "booth_visits",
    "resumes_submitted",
    "resumes_downloaded",
    "intents",
    "consultations",
    "live_views",
)


class EventBatch(BaseModel):
    """Shape of a batch body; each event is validated on its own so one bad event stays alone."""

    events: list[dict[str, Any]] = Field(min_length=1, max_length=500)


class EventResult(BaseModel):
    id: str | None
    status: Literal["accepted", "duplicate", "rejected"]
    reason: str | None = None
    verdict: str | None = Field(
        default=None, description="For a check-in: the gate's verdict (the first one on a retry)."
    )
    first_seen_at: str | None = Field(
        default=None, description="For an admitted check-in: when the seeker first came in."
    )
    seeker: dict[str, str] | None = Field(
        default=None, description="For a check-in of a known seeker: {id, name}, for the kiosk."
    )


class IngestAnswer(BaseModel):
    results: list[EventResult]


def describe(error: ValidationError) -> str:
    """One line naming each wrong field, for a client to act on."""
    parts = []
    for item in error.errors(include_url=False):
        loc = [str(p) for p in item["loc"]]
        if loc and loc[0] in _TAGS:  # the union's tag adds nothing for the client
            loc = loc[1:]
        where = ".".join(loc)
        message = item["msg"].removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


# The chain after the fair, sent to an alliance: POST /v1/alliances/{a}/events.
# Each names its person by seeker_id or phone; the gateway turns a phone into a `person` key.
Phone = Annotated[str, StringConstraints(min_length=5, max_length=20, pattern=r"^\+?[0-9 -]+$")]


class _PersonEvent(_Event):
    seeker_id: Ref | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _who(self) -> _PersonEvent:
        _one_of(self, "seeker_id", "phone")
        return self


class TrainingSignup(_PersonEvent):
    """A person signed up to an offer of the training menu."""

    type: Literal["training_signup"]
    offer_id: Ref


class TrainingCompleted(_PersonEvent):
    """A trainee passed the course of an offer."""

    type: Literal["training_completed"]
    offer_id: Ref


class SkillCertified(_PersonEvent):
    """A person got a skill-level certificate in an occupation."""

    type: Literal["skill_certified"]
    offer_id: Ref | None = None
    occupation: Occupation
    level: Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=_NO_NUL)]


class InternshipStarted(_PersonEvent):
    """A member enterprise took a student on an internship post for a semester."""

    type: Literal["internship_started"]
    member_id: Ref
    semester: Annotated[str, StringConstraints(min_length=1, max_length=20, pattern=r"^[\w.-]+$")]


class Hired(_PersonEvent):
    """A member employer hired a person, through a channel."""

    type: Literal["hired"]
    member_id: Ref
    occupation: Occupation | None = None
    position_id: Ref | None = None
    channel: HireChannel
    fair_id: Ref | None = None


AllianceEvent = Annotated[
    TrainingSignup | TrainingCompleted | SkillCertified | InternshipStarted | Hired,
    Field(discriminator="type"),
]
ALLIANCE_EVENT_TYPES: tuple[str, ...] = (
    "training_signup",
    "training_completed",
    "skill_certified",
    "internship_started",
    "hired",
)
alliance_event_adapter: TypeAdapter[AllianceEvent] = TypeAdapter(AllianceEvent)
# The unions' tags, which describe() leaves out of a field's path.
_TAGS = frozenset(EVENT_TYPES + ALLIANCE_EVENT_TYPES)

# An alliance's counted metrics, each with a total and a unique count of persons.
ALLIANCE_METRICS: tuple[str, ...] = (
    "training_signups",
    "training_completions",
    "certifications",
    "internships",
    "hires",
)
