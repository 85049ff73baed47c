-- End a session (the first end counts); the caller ends its pin in the same transaction.
UPDATE live_sessions
SET ended_at = coalesce(ended_at, clock_timestamp()),
    started_at = coalesce(started_at, clock_timestamp())
WHERE fair_id = $1 AND id = $2
RETURNING *
