INSERT INTO dead_letters (stream, entry_id, fair_id, payload, error, attempts)
VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (stream, entry_id) DO NOTHING
