-- A session's positions with their employers, in the order the organizer listed them.
SELECT p.id, p.employer_id, e.name AS employer_name, p.title, p.job_type, p.headcount
FROM unnest($2::text[]) WITH ORDINALITY AS wanted (id, n)
JOIN positions AS p ON p.fair_id = $1 AND p.id = wanted.id AND p.revoked_at IS NULL
JOIN employers AS e ON e.fair_id = p.fair_id AND e.id = p.employer_id
ORDER BY wanted.n
