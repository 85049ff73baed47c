-- New schools of a fair ($2: names), each linked to the alliance's school member ($3: kinds)
-- of the same name, trimmed and case-insensitive, current on the fair's first day, when the
-- fair belongs to an alliance (as employers are linked). Known schools keep their link.
INSERT INTO schools (fair_id, id, name, member_id)
SELECT $1, gen_random_uuid()::text, n.name, (
    SELECT m.id
    FROM fairs AS f
    JOIN alliance_members AS m ON m.alliance_id = f.alliance_id
    WHERE f.id = $1 AND m.kind = ANY($3::text[])
      AND lower(btrim(m.name)) = lower(btrim(n.name))
      AND m.joined_at <= f.starts_at::date
      AND (m.left_at IS NULL OR m.left_at > f.starts_at::date)
    ORDER BY m.joined_at DESC, m.id
    LIMIT 1
)
FROM unnest($2::text[]) AS n (name)
ON CONFLICT (fair_id, name) DO NOTHING
