-- The fair itself and the size of its registry.
SELECT f.id::text, f.name, f.kind, f.starts_at, f.ends_at, f.venue,
       (SELECT count(*) FROM schools AS s WHERE s.fair_id = f.id)::int AS schools,
       (SELECT count(*) FROM seekers AS k WHERE k.fair_id = f.id AND k.revoked_at IS NULL)::int
           AS seekers
FROM fairs AS f
WHERE f.id = $1
