-- End the session's pin in force, at $3; that instant, when given, is now.
UPDATE live_pins SET unpinned_at = coalesce($3, clock_timestamp())
WHERE fair_id = $1 AND session_id = $2 AND unpinned_at IS NULL
