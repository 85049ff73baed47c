"""What the simulated clients did, kept as /stats should count it.

Every figure has a flat name ("checkins.total", "by_employer.<name>.intents", ...), the same
names report.observed() gives to what /stats says, so the two compare key by key. A thing is
counted under its idempotency key once: a retried id, a résumé sent again with its client id,
a second download of the same résumé all leave the ledger as it was.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

from fairhub.events import CHANNELS, METRICS
from fairhub.gate import VERDICTS

ENTERED = ("admitted", "reentry")


class Ledger:
    """Totals and distinct subjects per figure, and what the gates were told."""

    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self.subjects: defaultdict[str, set[str]] = defaultdict(set)
        self.answers: dict[str, str] = {}  # scan id -> the verdict the kiosk showed
        self.anomalies: list[str] = []  # answers that broke the API's promises
        self.fixed: dict[str, int] = {}  # figures known from the set-up (the registry)
        self._seen: set[tuple[str, str]] = set()

    def add(
        self,
        metric: str,
        key: str,
        subject: str | None,
        totals: Iterable[str] = (),
        uniques: Iterable[str] = (),
    ) -> bool:
        """Count one `metric` event under idempotency `key`; False if it was counted before.

        `totals` are further figures the event adds one to; `uniques` are figures whose
        distinct subjects it may raise (breakdowns that carry a unique count).
        """
        if (metric, key) in self._seen:
            return False
        self._seen.add((metric, key))
        self.totals[f"{metric}.total"] += 1
        if subject is not None:
            self.subjects[f"{metric}.unique"].add(subject)
        for name in totals:
            self.totals[name] += 1
        if subject is not None:
            for name in uniques:
                self.subjects[name].add(subject)
        return True

    def checkin(
        self, scan_id: str, verdict: str, subject: str, school: str | None, minute: str
    ) -> None:
        """A gate scan sent with `scan_id`; `verdict` is admitted/reentry for any valid entry."""
        if verdict in ENTERED:
            extra = [f"per_minute.{minute}.checkins"]
            uniques = []
            if school is not None:
                extra.append(f"by_school.{school}.checkins.total")
                uniques.append(f"by_school.{school}.checkins.unique")
            self.add("checkins", scan_id, subject, extra, uniques)
        else:
            extra = [f"checkins_by_verdict.{verdict}", f"per_minute.{minute}.checkins_denied"]
            self.add("checkins_denied", scan_id, subject, extra)

    def answer(self, scan_id: str, verdict: str) -> None:
        """What a kiosk showed for a scan; a retry of the scan must be shown the same."""
        first = self.answers.setdefault(scan_id, verdict)
        if first != verdict:
            self.anomaly(f"scan {scan_id}: answered {first}, then {verdict} on a retry")

    def anomaly(self, text: str) -> None:
        if len(self.anomalies) < 200:
            self.anomalies.append(text)

    def expected(self) -> dict[str, int]:
        """Every figure the day should have produced, zeros included for the headline ones."""
        figures: dict[str, int] = {f"{m}.{k}": 0 for m in METRICS for k in ("total", "unique")}
        figures.update({f"checkins_by_verdict.{v}": 0 for v in VERDICTS})
        figures.update({f"resumes_by_channel.{c}": 0 for c in CHANNELS})
        figures.update(self.totals)
        figures.update({name: len(subjects) for name, subjects in self.subjects.items()})
        entered, people = figures["checkins.total"], figures["checkins.unique"]
        figures["checkins_by_verdict.admitted"] = people
        figures["checkins_by_verdict.reentry"] = entered - people
        # What the kiosks were told must add up to what /stats counts, verdict by verdict.
        answered = Counter(self.answers.values())
        figures.update({f"answered.{v}": answered[v] for v in VERDICTS})
        figures.update(self.fixed)
        return figures
