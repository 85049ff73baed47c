-- Foundation: fairs, scoped tokens, the event log, counters and the dead-letter table.

CREATE TABLE fairs (
    id          uuid PRIMARY KEY,
    name        text NOT NULL,
    kind        text NOT NULL CHECK (kind IN ('onsite', 'live', 'hybrid')),
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    venue       text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ends_at > starts_at)
);

-- Tokens are random and shown once; only their SHA-256 is kept.
CREATE TABLE tokens (
    token_hash  text PRIMARY KEY,
    role        text NOT NULL CHECK (role IN ('organizer', 'device', 'employer', 'host')),
    fair_id     uuid NOT NULL REFERENCES fairs (id) ON DELETE CASCADE,
    subject_id  text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX tokens_fair_idx ON tokens (fair_id);

-- Every event counted, once: (fair_id, id) is the idempotency key of the whole system.
-- No foreign key to fairs on the hot tables: the gateway admits events only for known fairs,
-- and a per-row trigger would cost the worker about a tenth of its time.
CREATE TABLE events (
    fair_id      uuid NOT NULL,
    id           text NOT NULL,
    type         text NOT NULL,
    occurred_at  timestamptz NOT NULL,
    metric       text,
    subject      text,
    employer_id  text,
    position_id  text,
    session_id   text,
    payload      jsonb NOT NULL,
    stream_id    text NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (fair_id, id)
);

-- One row per (metric, dimension): dim is fair|employer|position|session|school|minute.
-- total counts events (人次); uniq counts distinct subjects (人数), kept exact by `uniques`.
CREATE TABLE counters (
    fair_id  uuid NOT NULL,
    metric   text NOT NULL,
    dim      text NOT NULL,
    dim_id   text NOT NULL,
    total    bigint NOT NULL DEFAULT 0,
    uniq     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (fair_id, metric, dim, dim_id)
);

-- Who has already been counted where: one row per (fair, metric, dim, dim_id, subject),
-- keyed by the MD5 of those five as a uuid. A 16-byte key makes the insert a quarter faster
-- than the five text columns; a collision among 128-bit digests is not a practical concern.
CREATE TABLE uniques (
    key      uuid PRIMARY KEY,
    fair_id  uuid NOT NULL
);

-- Entries that failed too often; kept with their reason so nothing is silently lost.
CREATE TABLE dead_letters (
    stream      text NOT NULL,
    entry_id    text NOT NULL,
    fair_id     text NOT NULL,
    payload     text NOT NULL,
    error       text NOT NULL,
    attempts    integer NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream, entry_id)
);
