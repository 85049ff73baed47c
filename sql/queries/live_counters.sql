-- A session's counters: the session as a whole, per employer, per pinned position (during
-- the pin) and per pinned position for what named it (dim_id "<session>|<employer or
-- position>"), with the names that go with them.
SELECT c.metric, c.dim, c.dim_id, c.total, c.uniq, coalesce(e.name, p.title) AS name,
       p.employer_id AS position_employer
FROM counters AS c
LEFT JOIN employers AS e
       ON c.dim = 'session_employer' AND e.fair_id = c.fair_id AND e.id = split_part(c.dim_id, '|', 2)
LEFT JOIN positions AS p
       ON c.dim = 'session_pin' AND p.fair_id = c.fair_id AND p.id = split_part(c.dim_id, '|', 2)
WHERE c.fair_id = $1
  AND ((c.dim = 'session' AND c.dim_id = $2)
       OR (c.dim IN ('session_employer', 'session_pin', 'session_pin_chosen')
           AND c.dim_id LIKE $2 || '|%'))
