-- An alliance's counters: the whole (fair), per member (employer), per offer (position), and
-- per outcome (a hire's channel, a certificate's level, an internship's semester).
SELECT metric, dim, dim_id, total, uniq
FROM counters
WHERE fair_id = $1 AND dim IN ('fair', 'employer', 'position', 'outcome')
