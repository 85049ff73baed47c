-- The highest audience each live session of a fair has had, from the workers' samples.
SELECT session_id, max(peak) FROM live_samples WHERE fair_id = $1 GROUP BY session_id
