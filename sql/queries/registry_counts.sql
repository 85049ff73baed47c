-- What one fair has registered (revoked items left out): the dashboard's "registered" figures.
SELECT
    (SELECT count(*) FROM employers WHERE fair_id = $1 AND revoked_at IS NULL) AS employers,
    count(*) AS positions,
    coalesce(sum(headcount), 0) AS headcount,
    count(DISTINCT job_type) AS job_types
FROM positions
WHERE fair_id = $1 AND revoked_at IS NULL
