-- A one-tap application: its row, found again by the same tap. A withdrawn application sent
-- again goes out with the résumé kept now. `created`: whether this tap made the row.
INSERT INTO resumes AS r (id, fair_id, seeker_id, employer_id, position_id, channel, session_id,
                          sha256, filename)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (id) DO UPDATE
    SET withdrawn_at = NULL,
        sha256 = CASE WHEN r.withdrawn_at IS NULL THEN r.sha256 ELSE excluded.sha256 END,
        filename = CASE WHEN r.withdrawn_at IS NULL THEN r.filename ELSE excluded.filename END
RETURNING r.*, (xmax = 0) AS created
