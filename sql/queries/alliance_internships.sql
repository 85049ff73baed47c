-- Internship posts per member enterprise and semester (distinct interns), with the declared
-- staff the subsidy rule compares them with.
SELECT e.employer_id AS member_id, e.outcome AS semester,
       count(DISTINCT e.subject)::bigint AS posts, m.name, m.staff
FROM events AS e
JOIN alliance_members AS m ON m.alliance_id = e.fair_id AND m.id = e.employer_id
WHERE e.fair_id = $1 AND e.type = 'internship_started'
GROUP BY e.employer_id, e.outcome, m.name, m.staff
ORDER BY m.name, e.outcome
