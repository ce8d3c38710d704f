-- agg_exact_parts' sums per cell, group * $5 + bucket, with buckets of $3
-- ms over ($1, $2] as buckets_sum has them (without the squares): a cell's
-- exact sum, the same whatever order its rows come in.
-- $4 is the selection's id in sel (one table holds every selection).
SELECT c, e, count(*), sum(m), bool_and(fin)
FROM (
    SELECT c, e, fin, CAST(w * pow(2.0, -(e // 2)) * pow(2.0, (e // 2) - e) AS BIGINT) AS m
    FROM (
        SELECT CAST(g.grp AS BIGINT) * CAST($5 AS BIGINT) + (s.ts - CAST($1 AS BIGINT) - 1) // CAST($3 AS BIGINT) AS c,
               isfinite(s.value) AS fin,
               CASE WHEN isfinite(s.value) THEN s.value ELSE 0 END AS w,
               greatest(CAST(floor(log2(abs(CASE WHEN isfinite(s.value) AND s.value <> 0 THEN s.value ELSE 1 END))) AS INTEGER) - 53, -1074) AS e
        FROM all_samples s
        JOIN sel g ON g.sel_id = $4 AND g.store = s.store AND g.series_id = s.series_id
        WHERE s.ts > $1 AND s.ts <= $2
    )
)
GROUP BY c, e
