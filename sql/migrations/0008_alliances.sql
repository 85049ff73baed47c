-- Alliances (government–school–enterprise groups): their members over time, the job demand
-- of member enterprises, the training menu of member institutions, and secretary tokens.
-- Alliance events (sign-ups, completions, certifications, internships, hires) go through the
-- same events and counters tables, with the alliance id in fair_id: ids are random UUIDs, so
-- an alliance never shares its key space with a fair.

CREATE TABLE alliances (
    id                  uuid PRIMARY KEY,
    name                text NOT NULL,
    region              text,
    -- The internship subsidy rule: interns >= share × declared staff earns amount per post.
    internship_share    numeric NOT NULL DEFAULT 0.02 CHECK (internship_share >= 0),
    internship_subsidy  numeric NOT NULL DEFAULT 300 CHECK (internship_subsidy >= 0),
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE alliance_members (
    alliance_id  uuid NOT NULL REFERENCES alliances (id) ON DELETE CASCADE,
    id           text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('school', 'technical_school', 'vocational_school',
                                               'enterprise', 'association',
                                               'training_institution')),
    name         text NOT NULL,
    staff        integer CHECK (staff >= 0),  -- declared staff, for the internship rule
    joined_at    date NOT NULL,
    left_at      date,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (alliance_id, id),
    CHECK (left_at IS NULL OR left_at >= joined_at)
);
-- A name means one current member: a spreadsheet and a fair's employer name members.
CREATE UNIQUE INDEX alliance_members_name_idx
    ON alliance_members (alliance_id, lower(name)) WHERE left_at IS NULL;

-- A fair may belong to an alliance, and then may admit member employers only.
ALTER TABLE fairs
    ADD COLUMN alliance_id uuid REFERENCES alliances (id),
    ADD COLUMN members_only boolean NOT NULL DEFAULT false;
-- The alliance member an employer of a fair is, so one member's figures add up across fairs.
ALTER TABLE employers ADD COLUMN member_id text;

CREATE TABLE demands (
    alliance_id  uuid NOT NULL,
    id           text NOT NULL,
    member_id    text NOT NULL,
    occupation   text NOT NULL,
    category     text NOT NULL CHECK (category IN ('technical', 'skilled')),
    headcount    integer NOT NULL CHECK (headcount >= 0),
    region       text,
    period       text,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (alliance_id, id),
    FOREIGN KEY (alliance_id, member_id) REFERENCES alliance_members (alliance_id, id)
);

CREATE TABLE offers (
    alliance_id          uuid NOT NULL,
    id                   text NOT NULL,
    member_id            text NOT NULL,  -- the training institution
    occupation           text NOT NULL,
    kind                 text NOT NULL CHECK (kind IN ('subsidised', 'certification',
                                                       'project_class')),
    seats                integer NOT NULL CHECK (seats >= 0),
    region               text,
    credit_stars         smallint CHECK (credit_stars BETWEEN 0 AND 5),
    subsidy_per_trainee  numeric NOT NULL DEFAULT 0 CHECK (subsidy_per_trainee >= 0),
    period               text,
    demand_ids           text[] NOT NULL DEFAULT '{}',  -- a project class's demand rows
    enterprise_ids       text[] NOT NULL DEFAULT '{}',  -- and the enterprises behind them
    created_at           timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (alliance_id, id),
    FOREIGN KEY (alliance_id, member_id) REFERENCES alliance_members (alliance_id, id)
);

-- Who signed up from the menu page: the institution calls them back (personal data).
CREATE TABLE training_signups (
    alliance_id  uuid NOT NULL REFERENCES alliances (id) ON DELETE CASCADE,
    event_id     text NOT NULL,
    offer_id     text NOT NULL,
    name         text,
    phone        text,
    seeker_id    text,
    created_at   timestamptz NOT NULL DEFAULT clock_timestamp(),
    PRIMARY KEY (alliance_id, event_id)
);

-- A secretary token is scoped to an alliance instead of a fair.
ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check
    CHECK (role IN ('organizer', 'device', 'employer', 'host', 'seeker', 'secretary'));
ALTER TABLE tokens
    ALTER COLUMN fair_id DROP NOT NULL,
    ADD COLUMN alliance_id uuid REFERENCES alliances (id) ON DELETE CASCADE,
    ADD CONSTRAINT tokens_scope_check CHECK ((fair_id IS NULL) <> (alliance_id IS NULL));
