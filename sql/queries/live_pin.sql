-- Pin a position at $4 (the instant the previous pin was closed at, by live_unpin).
INSERT INTO live_pins (fair_id, session_id, pinned_at, position_id, employer_id)
SELECT $1, $2, $4, p.id, p.employer_id
FROM positions AS p
WHERE p.fair_id = $1 AND p.id = $3
