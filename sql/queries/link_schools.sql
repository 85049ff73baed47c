-- A fair joined an alliance: its schools not linked yet are linked to the school member
-- ($2: kinds) of the same name, trimmed and case-insensitive, current on the fair's first day.
UPDATE schools AS s
SET member_id = found.member_id
FROM (
    SELECT DISTINCT ON (s.id) s.id, m.id AS member_id
    FROM fairs AS f
    JOIN schools AS s ON s.fair_id = f.id AND s.member_id IS NULL
    JOIN alliance_members AS m ON m.alliance_id = f.alliance_id
        AND lower(btrim(m.name)) = lower(btrim(s.name))
    WHERE f.id = $1 AND m.kind = ANY($2::text[])
      AND m.joined_at <= f.starts_at::date
      AND (m.left_at IS NULL OR m.left_at > f.starts_at::date)
    ORDER BY s.id, m.joined_at DESC, m.id
) AS found
WHERE s.fair_id = $1 AND s.id = found.id
