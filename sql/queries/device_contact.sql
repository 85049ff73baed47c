-- What the fair's kiosks sent: per device its last contact, its scans, and how many of them
-- arrived late (stored more than $3 seconds after they happened: queued while offline).
SELECT payload ->> 'device_id' AS device_id,
       max(received_at) AS last_contact_at,
       count(*)::int AS scans,
       (count(*) FILTER (WHERE received_at - occurred_at > make_interval(secs => $3)))::int
           AS late_scans
FROM events
WHERE fair_id = $1 AND payload ->> 'device_id' = ANY($2::text[])
GROUP BY 1
