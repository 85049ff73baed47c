-- Seekers on their phones: sign-up with consent, a seeker token, one résumé kept for one-tap
-- applications, withdrawing, erasing one's personal data; and livestream questions that keep
-- what the viewer chose apart from what was pinned at the time.

ALTER TABLE tokens DROP CONSTRAINT tokens_role_check;
ALTER TABLE tokens ADD CONSTRAINT tokens_role_check
    CHECK (role IN ('organizer', 'device', 'employer', 'host', 'seeker'));

-- Organizers close sign-up, or cap how many may sign up online.
ALTER TABLE fairs
    ADD COLUMN signup_open boolean NOT NULL DEFAULT true,
    ADD COLUMN signup_cap integer CHECK (signup_cap >= 0);

-- A phone is one seeker per fair, whether it came by sign-up or import. phone_key is the
-- number as it is compared: digits only, without China's country code; computed here so that
-- every writer (API, import, sign-up) agrees.
ALTER TABLE seekers
    ADD COLUMN graduation_year smallint CHECK (graduation_year BETWEEN 1950 AND 2100),
    ADD COLUMN phone_key text GENERATED ALWAYS AS (
        nullif(regexp_replace(regexp_replace(phone, '[^0-9]', '', 'g'),
                              '^(0086|86)(1[0-9]{10})$', '\2'), '')
    ) STORED,
    ADD COLUMN signed_up_at timestamptz,
    ADD COLUMN consented_at timestamptz,
    ADD COLUMN erased_at timestamptz,
    -- The résumé kept for one-tap applications; each application keeps the file it sent.
    ADD COLUMN resume_sha256 text REFERENCES resume_files (sha256),
    ADD COLUMN resume_filename text,
    ADD COLUMN resume_at timestamptz;
CREATE INDEX seekers_phone_idx ON seekers (fair_id, phone_key)
    WHERE revoked_at IS NULL AND phone_key IS NOT NULL;

-- A withdrawn application is hidden from its employer; the figures keep that it was sent.
ALTER TABLE resumes ADD COLUMN withdrawn_at timestamptz;
CREATE INDEX resumes_seeker_idx ON resumes (fair_id, seeker_id);

-- What the viewer chose (position_id) and what was on show when they asked, side by side.
ALTER TABLE live_questions ADD COLUMN pinned_position_id text;
-- Before this, position_id held the pin; what those viewers chose was not recorded.
UPDATE live_questions SET pinned_position_id = position_id, position_id = NULL;
