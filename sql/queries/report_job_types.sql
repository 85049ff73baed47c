-- Job types on offer: live positions of live employers, with their openings.
SELECT p.job_type, count(*)::int AS positions, sum(p.headcount)::int AS openings
FROM positions AS p
JOIN employers AS e ON e.fair_id = p.fair_id AND e.id = p.employer_id AND e.revoked_at IS NULL
WHERE p.fair_id = $1 AND p.revoked_at IS NULL
GROUP BY p.job_type
ORDER BY count(*) DESC, p.job_type
