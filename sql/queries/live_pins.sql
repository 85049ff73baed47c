-- A session's pins, first to last, with what was pinned.
SELECT lp.position_id, lp.employer_id, p.title, lp.pinned_at, lp.unpinned_at
FROM live_pins AS lp
LEFT JOIN positions AS p ON p.fair_id = lp.fair_id AND p.id = lp.position_id
WHERE lp.fair_id = $1 AND lp.session_id = $2
ORDER BY lp.pinned_at
