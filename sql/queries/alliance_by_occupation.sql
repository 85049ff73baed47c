-- An alliance's chain per occupation, from its stored events (each stored once, by id): the
-- occupation is the offer's for training events and the event's own for the others.
SELECT payload ->> 'occupation' AS occupation, metric,
       count(*)::bigint AS total, count(DISTINCT subject)::bigint AS uniq
FROM events
WHERE fair_id = $1 AND metric IS NOT NULL AND payload ->> 'occupation' IS NOT NULL
GROUP BY 1, 2
