-- The registry's names of one fair, keyed like the counters' dimensions.
SELECT 'employer' AS dim, id, name, NULL AS employer_id FROM employers WHERE fair_id = $1
UNION ALL
SELECT 'position', id, title, employer_id FROM positions WHERE fair_id = $1
UNION ALL
SELECT 'school', id, name, NULL FROM schools WHERE fair_id = $1
UNION ALL
SELECT 'session', id, title, NULL FROM live_sessions WHERE fair_id = $1
