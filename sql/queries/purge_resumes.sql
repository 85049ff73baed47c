-- Résumé retention: the files of fairs that ended more than resume_retention_days ago ($1: now)
-- are let go, with their names. Résumé rows stay (purged_at set): the figures, the events and
-- who sent what to whom when are kept. The digests come back for purge_resume_files.sql, which
-- must run as a second statement: every part of this one sees the rows as they were.
WITH expired AS (
    SELECT id FROM fairs WHERE ends_at + make_interval(days => resume_retention_days) <= $1
), sent AS (
    SELECT r.id, r.sha256 FROM resumes AS r JOIN expired AS e ON e.id = r.fair_id
    WHERE r.purged_at IS NULL
    FOR UPDATE OF r
), purged AS (
    UPDATE resumes AS r SET purged_at = $1, sha256 = NULL, filename = ''
    FROM sent WHERE r.id = sent.id
    RETURNING r.id
), kept AS (
    SELECT s.fair_id, s.id, s.resume_sha256 AS sha256
    FROM seekers AS s JOIN expired AS e ON e.id = s.fair_id
    WHERE s.resume_sha256 IS NOT NULL
    FOR UPDATE OF s
), unkept AS (
    UPDATE seekers AS s SET resume_sha256 = NULL, resume_filename = NULL, resume_at = NULL
    FROM kept WHERE s.fair_id = kept.fair_id AND s.id = kept.id
    RETURNING s.id
)
SELECT (SELECT count(*) FROM purged) AS resumes,
       (SELECT count(*) FROM unkept) AS kept,
       ARRAY(SELECT sha256 FROM sent WHERE sha256 IS NOT NULL
             UNION SELECT sha256 FROM kept) AS digests
