-- The report's employers: each with its live positions and openings (0 = "not fixed").
-- Revoked employers stay in the report when something was counted for them.
SELECT e.id, e.name, e.booth, e.revoked_at IS NOT NULL AS revoked,
       count(p.id)::int AS positions, coalesce(sum(p.headcount), 0)::int AS openings
FROM employers AS e
LEFT JOIN positions AS p
       ON p.fair_id = e.fair_id AND p.employer_id = e.id AND p.revoked_at IS NULL
WHERE e.fair_id = $1
GROUP BY e.id, e.name, e.booth, e.revoked_at
ORDER BY e.name, e.id
