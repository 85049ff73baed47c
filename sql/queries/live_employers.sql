-- A session's employers, in the organizer's order.
SELECT e.id, e.name
FROM unnest($2::text[]) WITH ORDINALITY AS wanted (id, n)
JOIN employers AS e ON e.fair_id = $1 AND e.id = wanted.id
ORDER BY wanted.n
