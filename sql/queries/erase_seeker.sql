-- Erase a seeker's personal data (PIPL-style): the résumés sent, the questions' words, and
-- every personal field; the badge stops working. The row stays, nameless, so that counters,
-- events and intents keep their anonymous totals and nothing refers to a missing seeker.
WITH sent AS (
    DELETE FROM resumes WHERE fair_id = $1 AND seeker_id = $2 RETURNING id
), asked AS (
    UPDATE live_questions SET question = NULL WHERE fair_id = $1 AND seeker_id = $2 RETURNING id
)
UPDATE seekers
SET name = '', phone = NULL, major = NULL, school_id = NULL, graduation_year = NULL,
    resume_sha256 = NULL, resume_filename = NULL, resume_at = NULL,
    erased_at = clock_timestamp(), updated_at = clock_timestamp(),
    revoked_at = coalesce(revoked_at, clock_timestamp())
WHERE fair_id = $1 AND id = $2
