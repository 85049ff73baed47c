-- A session's questions, oldest first: open ($3 false), answered (true) or all (null);
-- only those put to employer $4 when it is set; only question $5 when that is set. Each with
-- the employer and position the viewer chose, and the position on show when it was asked.
SELECT q.id, q.viewer_id, q.seeker_id, q.employer_id, e.name AS employer_name,
       q.position_id, p.title AS position_title, q.pinned_position_id,
       pp.title AS pinned_title, q.question, q.asked_at, q.answered_at, q.answered_by
FROM live_questions AS q
LEFT JOIN employers AS e ON e.fair_id = q.fair_id AND e.id = q.employer_id
LEFT JOIN positions AS p ON p.fair_id = q.fair_id AND p.id = q.position_id
LEFT JOIN positions AS pp ON pp.fair_id = q.fair_id AND pp.id = q.pinned_position_id
WHERE q.fair_id = $1 AND q.session_id = $2
  AND ($3::boolean IS NULL OR (q.answered_at IS NOT NULL) = $3)
  AND ($4::text IS NULL OR q.employer_id = $4)
  AND ($5::text IS NULL OR q.id = $5)
ORDER BY q.asked_at, q.id
LIMIT 1000
