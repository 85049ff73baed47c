-- A member's figures at the alliance's fairs: the counters of the fairs' employers linked to
-- it, added up. Seekers are a fair's own, so the unique counts add up as persons per fair.
SELECT e.member_id, c.metric, sum(c.total)::bigint AS total, sum(c.uniq)::bigint AS uniq
FROM fairs AS f
JOIN employers AS e ON e.fair_id = f.id AND e.member_id IS NOT NULL
JOIN counters AS c ON c.fair_id = e.fair_id AND c.dim = 'employer' AND c.dim_id = e.id
WHERE f.alliance_id = $1
GROUP BY e.member_id, c.metric
