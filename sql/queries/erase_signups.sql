-- Erase a person's menu sign-ups in an alliance ($1): those by phone ($2, as phone_key
-- compares it) and those by a seeker of the alliance's fairs ($3: ids) or with the phone of
-- one. Name, phone and seeker go; the row stays for its event, the counters keep the figures.
WITH people AS (
    SELECT s.id, s.phone_key
    FROM fairs AS f
    JOIN seekers AS s ON s.fair_id = f.id
    WHERE f.alliance_id = $1 AND (s.id = ANY($3::text[]) OR s.phone_key = $2)
)
UPDATE training_signups AS t
SET name = NULL, phone = NULL, seeker_id = NULL,
    erased_at = coalesce(t.erased_at, clock_timestamp())
WHERE t.alliance_id = $1 AND t.erased_at IS NULL
  AND (t.phone_key = $2
       OR t.seeker_id = ANY($3::text[])
       OR t.seeker_id IN (SELECT id FROM people)
       OR t.phone_key IN (SELECT phone_key FROM people WHERE phone_key IS NOT NULL))
RETURNING t.event_id
