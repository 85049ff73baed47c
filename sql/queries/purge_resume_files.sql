-- Delete the files among $1 (digests) that no résumé and no seeker's kept résumé refers to:
-- a file sent to a fair still within its retention (the same content) stays.
WITH gone AS (
    DELETE FROM resume_files AS f
    WHERE f.sha256 = ANY($1::text[])
      AND NOT EXISTS (SELECT 1 FROM resumes AS r WHERE r.sha256 = f.sha256)
      AND NOT EXISTS (SELECT 1 FROM seekers AS s WHERE s.resume_sha256 = f.sha256)
    RETURNING f.size
)
SELECT count(*) AS files, coalesce(sum(size), 0)::bigint AS bytes FROM gone
