-- Every counter of one fair; the stats API shapes them into totals and breakdowns.
SELECT metric, dim, dim_id, total, uniq
FROM counters
WHERE fair_id = $1
ORDER BY dim, dim_id, metric
