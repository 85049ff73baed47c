-- Samples of live audiences: per session and minute the highest viewers-now seen, and the peak.
INSERT INTO live_samples AS s (fair_id, session_id, minute, viewers, peak)
SELECT fair_id, session_id, date_trunc('minute', now()), viewers, peak
FROM unnest($1::uuid[], $2::text[], $3::int[], $4::int[]) AS x (fair_id, session_id, viewers, peak)
ON CONFLICT (fair_id, session_id, minute) DO UPDATE
    SET viewers = greatest(s.viewers, excluded.viewers), peak = greatest(s.peak, excluded.peak)
