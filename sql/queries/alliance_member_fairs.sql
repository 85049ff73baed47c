-- A member's figures at the alliance's fairs: the counters of the fairs' employers linked to
-- it, and of the fairs' schools linked to it (the school dimension: its students' check-ins,
-- résumés, ...), added up. Seekers are a fair's own, so the unique counts add up as persons
-- per fair. A member is an employer or a school at the fairs; one that is both adds the two.
WITH linked AS (
    SELECT e.fair_id, 'employer' AS dim, e.id, e.member_id
    FROM fairs AS f
    JOIN employers AS e ON e.fair_id = f.id AND e.member_id IS NOT NULL
    WHERE f.alliance_id = $1
    UNION ALL
    SELECT s.fair_id, 'school', s.id, s.member_id
    FROM fairs AS f
    JOIN schools AS s ON s.fair_id = f.id AND s.member_id IS NOT NULL
    WHERE f.alliance_id = $1
)
SELECT l.member_id, c.metric, sum(c.total)::bigint AS total, sum(c.uniq)::bigint AS uniq
FROM linked AS l
JOIN counters AS c ON c.fair_id = l.fair_id AND c.dim = l.dim AND c.dim_id = l.id
GROUP BY l.member_id, c.metric
