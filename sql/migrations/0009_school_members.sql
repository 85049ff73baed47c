-- Schools of an alliance's fairs link to its school members (school, technical school,
-- vocational school), so a school member's figures add up across the fairs: linked by name
-- when the school is created or its fair joins the alliance, or by hand. And the personal data
-- of menu sign-ups is erased and audited like seekers'.
ALTER TABLE schools ADD COLUMN member_id text;
-- The fairs of an alliance: looked up for every batch of its events and for its figures.
CREATE INDEX fairs_alliance_idx ON fairs (alliance_id) WHERE alliance_id IS NOT NULL;

-- Menu sign-ups are personal data like seekers': erased by phone or seeker (the figures, which
-- are counters, stay), and every read of them is in the audit log. phone_key is the number as
-- seekers.phone_key compares it, so an erasure finds it in any spelling.
ALTER TABLE training_signups
    ADD COLUMN phone_key text GENERATED ALWAYS AS (
        nullif(regexp_replace(regexp_replace(phone, '[^0-9]', '', 'g'),
                              '^(0086|86)(1[0-9]{10})$', '\2'), '')
    ) STORED,
    ADD COLUMN erased_at timestamptz;
CREATE INDEX training_signups_phone_idx ON training_signups (alliance_id, phone_key)
    WHERE phone_key IS NOT NULL;
CREATE INDEX training_signups_seeker_idx ON training_signups (alliance_id, seeker_id)
    WHERE seeker_id IS NOT NULL;
CREATE INDEX training_signups_offer_idx ON training_signups (alliance_id, offer_id, created_at);
-- An alliance's reads of personal data are kept with the alliance's id, as its tokens are.
ALTER TABLE audit_log
    ALTER COLUMN fair_id DROP NOT NULL,
    ADD COLUMN alliance_id uuid REFERENCES alliances (id) ON DELETE CASCADE,
    ADD CONSTRAINT audit_log_scope_check CHECK ((fair_id IS NULL) <> (alliance_id IS NULL));
CREATE INDEX audit_log_alliance_idx ON audit_log (alliance_id, id DESC)
    WHERE alliance_id IS NOT NULL;
