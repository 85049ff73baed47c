-- What a batch of an alliance's events refers to, in one round trip: the alliance's offers,
-- members and fairs among those named ($2, $3, $4), the seekers of its fairs among $5, and the
-- positions of its fairs among $6 with the member their employer is linked to. One row per
-- thing found, in one shape; `ref` says which kind of thing it is.
SELECT 'offer' AS ref, o.id, o.member_id, o.occupation, NULL::text AS kind, NULL::text AS name,
       NULL::date AS joined_at, NULL::date AS left_at, NULL::text AS fair_id
FROM offers AS o
WHERE o.alliance_id = $1 AND o.id = ANY($2::text[])
UNION ALL
SELECT 'member', m.id, NULL, NULL, m.kind, m.name, m.joined_at, m.left_at, NULL
FROM alliance_members AS m
WHERE m.alliance_id = $1 AND m.id = ANY($3::text[])
UNION ALL
SELECT 'fair', f.id::text, NULL, NULL, NULL, NULL, NULL, NULL, f.id::text
FROM fairs AS f
WHERE f.alliance_id = $1 AND f.id::text = ANY($4::text[])
UNION ALL
SELECT 'seeker', s.id, NULL, NULL, NULL, NULL, NULL, NULL, s.fair_id::text
FROM fairs AS f
JOIN seekers AS s ON s.fair_id = f.id
WHERE f.alliance_id = $1 AND s.id = ANY($5::text[])
UNION ALL
SELECT 'position', p.id, e.member_id, NULL, NULL, NULL, NULL, NULL, p.fair_id::text
FROM fairs AS f
JOIN positions AS p ON p.fair_id = f.id
JOIN employers AS e ON e.fair_id = p.fair_id AND e.id = p.employer_id
WHERE f.alliance_id = $1 AND p.id = ANY($6::text[])
