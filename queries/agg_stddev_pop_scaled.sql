-- agg_stddev_pop for groups with values so large that their squares
-- overflow: each group's values are scaled by the power of two just above
-- its largest magnitude (exact), and the result scaled back. Groups of
-- ordinary values keep a scale of 1, so a huge group never costs a small
-- one its digits.
-- $3 is the selection's id in sel (one table holds every selection).
WITH sc AS (
    SELECT g.grp,
           CASE WHEN max(abs(s.value)) > 1e150
                THEN pow(2.0, -ceil(log2(max(abs(s.value)))))
                ELSE 1.0 END AS k
    FROM all_samples s
    JOIN sel g ON g.sel_id = $3 AND g.store = s.store AND g.series_id = s.series_id
    WHERE s.ts > $1 AND s.ts <= $2
    GROUP BY g.grp
)
SELECT g.grp, stddev_pop(s.value * sc.k) / any_value(sc.k), count(*)
FROM all_samples s
JOIN sel g ON g.sel_id = $3 AND g.store = s.store AND g.series_id = s.series_id
JOIN sc ON sc.grp = g.grp
WHERE s.ts > $1 AND s.ts <= $2
GROUP BY g.grp
