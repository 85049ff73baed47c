-- The registry: who is at the fair (employers, positions, schools, seekers, devices), the
-- badge signing keys, and what happens between them (leads, résumés, intents).
-- Ids are text (generated UUIDs) because events name them as free-form references.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Badge numbers are handed out per fair in order, so a printed sheet can be asked for by range.
ALTER TABLE fairs ADD COLUMN seekers_numbered integer NOT NULL DEFAULT 0;

-- Ed25519 keys that sign the fair's badges. The newest live key signs; every live key verifies,
-- so a key can be rotated without reprinting badges, and retired to invalidate its badges.
CREATE TABLE fair_keys (
    fair_id      uuid NOT NULL REFERENCES fairs (id) ON DELETE CASCADE,
    kid          text NOT NULL,
    private_key  bytea NOT NULL,
    public_key   bytea NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    retired_at   timestamptz,
    PRIMARY KEY (fair_id, kid)
);

CREATE TABLE employers (
    fair_id     uuid NOT NULL REFERENCES fairs (id) ON DELETE CASCADE,
    id          text NOT NULL,
    name        text NOT NULL,
    booth       text,
    industry    text,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at  timestamptz,
    PRIMARY KEY (fair_id, id)
);
-- An organizer's spreadsheet names employers, so a name means one employer within a fair.
CREATE UNIQUE INDEX employers_name_idx ON employers (fair_id, lower(name)) WHERE revoked_at IS NULL;

CREATE TABLE positions (
    fair_id      uuid NOT NULL,
    id           text NOT NULL,
    employer_id  text NOT NULL,
    title        text NOT NULL,
    job_type     text NOT NULL,
    headcount    integer NOT NULL CHECK (headcount >= 0),
    description  text,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at   timestamptz,
    PRIMARY KEY (fair_id, id),
    FOREIGN KEY (fair_id, employer_id) REFERENCES employers (fair_id, id) ON DELETE CASCADE
);
CREATE INDEX positions_employer_idx ON positions (fair_id, employer_id);
-- Substring search in Chinese titles: trigrams index queries of three characters or more;
-- shorter ones (two-character words are common) fall back to a scan of one fair's rows.
CREATE INDEX positions_title_trgm_idx ON positions USING gin (title gin_trgm_ops);

CREATE TABLE schools (
    fair_id     uuid NOT NULL REFERENCES fairs (id) ON DELETE CASCADE,
    id          text NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (fair_id, id),
    UNIQUE (fair_id, name)
);

-- Job seekers: name, phone and school are personal data, shown to organizers, and to an
-- employer only for seekers who sent it a résumé.
CREATE TABLE seekers (
    fair_id       uuid NOT NULL REFERENCES fairs (id) ON DELETE CASCADE,
    id            text NOT NULL,
    number        integer NOT NULL,
    name          text NOT NULL,
    school_id     text,
    major         text,
    phone         text,
    -- A reissued badge gets the next serial; badges with a lower serial are revoked.
    badge_serial  integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at    timestamptz,
    PRIMARY KEY (fair_id, id),
    UNIQUE (fair_id, number),
    FOREIGN KEY (fair_id, school_id) REFERENCES schools (fair_id, id)
);

CREATE TABLE devices (
    fair_id      uuid NOT NULL REFERENCES fairs (id) ON DELETE CASCADE,
    id           text NOT NULL,
    label        text NOT NULL,
    gate         text,
    employer_id  text,  -- a booth's scanner
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    revoked_at   timestamptz,
    PRIMARY KEY (fair_id, id)
);

-- One lead per employer and seeker: the first booth scan creates it (from the API or, for
-- scans uploaded as events, by the worker); later scans may add notes and a rating.
CREATE TABLE leads (
    fair_id         uuid NOT NULL,
    employer_id     text NOT NULL,
    seeker_id       text NOT NULL,
    first_event_id  text NOT NULL,
    notes           text,
    rating          smallint CHECK (rating BETWEEN 1 AND 5),
    scans           integer NOT NULL DEFAULT 1,
    created_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    updated_at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (fair_id, employer_id, seeker_id)
);

-- Résumé files are kept once per content (sha256), whatever the number of employers.
CREATE TABLE resume_files (
    sha256        text PRIMARY KEY,
    content_type  text NOT NULL,
    size          integer NOT NULL,
    content       bytea NOT NULL
);

-- A résumé sent to one employer. The id is global (GET /v1/resumes/{id}/file).
CREATE TABLE resumes (
    id            text PRIMARY KEY,
    fair_id       uuid NOT NULL REFERENCES fairs (id) ON DELETE CASCADE,
    seeker_id     text NOT NULL,
    employer_id   text NOT NULL,
    position_id   text,
    channel       text NOT NULL CHECK (channel IN ('onsite', 'online', 'live')),
    session_id    text,
    sha256        text NOT NULL REFERENCES resume_files (sha256),
    filename      text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT clock_timestamp(),
    downloaded_at timestamptz,
    FOREIGN KEY (fair_id, seeker_id) REFERENCES seekers (fair_id, id),
    FOREIGN KEY (fair_id, employer_id) REFERENCES employers (fair_id, id)
);
CREATE INDEX resumes_employer_idx ON resumes (fair_id, employer_id, created_at);

CREATE TABLE intents (
    fair_id      uuid NOT NULL,
    id           text NOT NULL,
    seeker_id    text NOT NULL,
    employer_id  text NOT NULL,
    position_id  text,
    note         text,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (fair_id, id),
    FOREIGN KEY (fair_id, seeker_id) REFERENCES seekers (fair_id, id),
    FOREIGN KEY (fair_id, employer_id) REFERENCES employers (fair_id, id)
);
CREATE INDEX intents_employer_idx ON intents (fair_id, employer_id);

-- The worker now knows who an event is about (seeker_id, so counters can be broken down by
-- the seeker's school) and the outcome of a scan (admitted, reentry, invalid_badge, ...).
ALTER TABLE events ADD COLUMN seeker_id text, ADD COLUMN outcome text;
