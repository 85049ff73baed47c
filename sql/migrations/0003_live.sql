-- Livestream recruitment: sessions, what the host pinned when, the questions viewers asked,
-- and a per-minute sample of the audience. Presence itself (who is watching now) lives in
-- Redis: a heartbeat every 30 s from 100,000 viewers must not become a row each.

CREATE TABLE live_sessions (
    fair_id       uuid NOT NULL REFERENCES fairs (id) ON DELETE CASCADE,
    id            text NOT NULL,
    title         text NOT NULL,
    employer_ids  text[] NOT NULL,
    position_ids  text[] NOT NULL,
    platform      text,
    stream_url    text,
    starts_at     timestamptz,
    started_at    timestamptz,
    ended_at      timestamptz,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (fair_id, id)
);
-- The viewer page's address names the session only.
CREATE UNIQUE INDEX live_sessions_id_idx ON live_sessions (id);

-- One position on show at a time. Events are attributed to the pin in force at their
-- occurred_at, so an upload that arrives late still lands on the right position.
CREATE TABLE live_pins (
    fair_id      uuid NOT NULL,
    session_id   text NOT NULL,
    pinned_at    timestamptz NOT NULL,
    unpinned_at  timestamptz,
    position_id  text NOT NULL,
    employer_id  text NOT NULL,
    PRIMARY KEY (fair_id, session_id, pinned_at),
    FOREIGN KEY (fair_id, session_id) REFERENCES live_sessions (fair_id, id) ON DELETE CASCADE,
    CHECK (unpinned_at IS NULL OR unpinned_at >= pinned_at)
);
CREATE UNIQUE INDEX live_pins_open_idx ON live_pins (fair_id, session_id) WHERE unpinned_at IS NULL;

-- The host's queue: a consultation event with a session becomes a question to answer.
CREATE TABLE live_questions (
    fair_id      uuid NOT NULL,
    id           text NOT NULL,  -- the consultation event's id
    session_id   text NOT NULL,
    employer_id  text,
    position_id  text,  -- pinned when it was asked
    viewer_id    text,
    seeker_id    text,
    question     text,
    asked_at     timestamptz NOT NULL,
    answered_at  timestamptz,
    answered_by  text,
    PRIMARY KEY (fair_id, id)
);
CREATE INDEX live_questions_queue_idx ON live_questions (fair_id, session_id, asked_at);

-- Viewers now, sampled by the workers; the highest sample of a minute, and the peak so far.
CREATE TABLE live_samples (
    fair_id     uuid NOT NULL,
    session_id  text NOT NULL,
    minute      timestamptz NOT NULL,
    viewers     integer NOT NULL,
    peak        integer NOT NULL,
    PRIMARY KEY (fair_id, session_id, minute)
);
