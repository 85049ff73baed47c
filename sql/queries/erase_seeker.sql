-- Erase a seeker's personal data (PIPL-style): the résumés sent, the questions' words, the
-- training menu sign-ups in the fair's alliance (by the seeker's sign-in or phone), and every
-- personal field; the badge stops working. The row stays, nameless, so that counters, events
-- and intents keep their anonymous totals and nothing refers to a missing seeker.
WITH sent AS (
    DELETE FROM resumes WHERE fair_id = $1 AND seeker_id = $2 RETURNING id
), asked AS (
    UPDATE live_questions SET question = NULL WHERE fair_id = $1 AND seeker_id = $2 RETURNING id
), signed_up AS (
    UPDATE training_signups AS t
    SET name = NULL, phone = NULL, seeker_id = NULL,
        erased_at = coalesce(t.erased_at, clock_timestamp())
    FROM fairs AS f, seekers AS s
    WHERE f.id = $1 AND s.fair_id = $1 AND s.id = $2 AND t.alliance_id = f.alliance_id
      AND (t.seeker_id = s.id OR t.phone_key = s.phone_key)
    RETURNING t.event_id
)
UPDATE seekers
SET name = '', phone = NULL, major = NULL, school_id = NULL, graduation_year = NULL,
    resume_sha256 = NULL, resume_filename = NULL, resume_at = NULL,
    erased_at = clock_timestamp(), updated_at = clock_timestamp(),
    revoked_at = coalesce(revoked_at, clock_timestamp())
WHERE fair_id = $1 AND id = $2
