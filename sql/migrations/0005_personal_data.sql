-- Secrets and personal data: badge-signing keys sealed under the master key, résumé files
-- kept for a period per fair, and an audit log of who read whose personal data.

-- private_key holds the AES-GCM ciphertext once key_nonce is set; sealed_by names the master
-- key (its fingerprint) that sealed it. Rows without a nonce are plaintext keys written
-- before this migration: the gateway seals them at start-up (SQL has no master key).
ALTER TABLE fair_keys
    ADD COLUMN key_nonce bytea,
    ADD COLUMN sealed_by text;

-- Résumé files are deleted this many days after the fair ends; figures are kept.
ALTER TABLE fairs
    ADD COLUMN resume_retention_days integer NOT NULL DEFAULT 180
        CHECK (resume_retention_days BETWEEN 0 AND 36500);

-- A purged résumé keeps its row (who sent it to whom, when: what the figures are made of)
-- but loses its file and the file's name.
ALTER TABLE resumes
    ADD COLUMN purged_at timestamptz,
    ALTER COLUMN sha256 DROP NOT NULL;

-- Who read personal data: résumé downloads, lists of résumés, seekers' records.
CREATE TABLE audit_log (
    id          bigserial PRIMARY KEY,
    fair_id     uuid NOT NULL REFERENCES fairs (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    actor_role  text NOT NULL,
    -- The employer, device or live session behind the token (null for organizer and admin).
    actor_id    text,
    -- The first 16 hex digits of the token's SHA-256: which token, never the token.
    token_ref   text,
    address     text,
    action      text NOT NULL,
    subject     text
);
CREATE INDEX audit_log_fair_idx ON audit_log (fair_id, id DESC);
