-- Which of the asked employers exist (live), and the live positions of those employers
-- (all of them, or those asked for when $3 is not null), by employer as asked, oldest first.
SELECT kind, id
FROM (
    SELECT 'employer' AS kind, id, 0 AS employer_n, created_at
    FROM employers
    WHERE fair_id = $1 AND id = ANY($2::text[]) AND revoked_at IS NULL
    UNION ALL
    SELECT 'position', id, array_position($2::text[], employer_id), created_at
    FROM positions
    WHERE fair_id = $1 AND employer_id = ANY($2::text[]) AND revoked_at IS NULL
      AND ($3::text[] IS NULL OR id = ANY($3::text[]))
) AS found
ORDER BY kind, employer_n, created_at, id
