-- One live session of a fair.
SELECT * FROM live_sessions WHERE fair_id = $1 AND id = $2
