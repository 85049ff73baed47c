-- A seeker's applications, newest first, with what became of each: the employer downloaded it
-- (viewed), an intent with that employer (for that position, or for none in particular).
SELECT r.id, r.employer_id, e.name AS employer_name, r.position_id, p.title AS position_title,
       r.channel, r.session_id, r.created_at AS sent_at, r.downloaded_at AS viewed_at,
       r.withdrawn_at,
       (SELECT min(i.created_at) FROM intents AS i
         WHERE i.fair_id = r.fair_id AND i.seeker_id = r.seeker_id
           AND i.employer_id = r.employer_id
           AND (i.position_id IS NULL OR r.position_id IS NULL
                OR i.position_id = r.position_id)) AS intent_at
FROM resumes AS r
JOIN employers AS e ON e.fair_id = r.fair_id AND e.id = r.employer_id
LEFT JOIN positions AS p ON p.fair_id = r.fair_id AND p.id = r.position_id
WHERE r.fair_id = $1 AND r.seeker_id = $2
ORDER BY r.created_at DESC, r.id
LIMIT 1000
