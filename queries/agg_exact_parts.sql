-- The exact sum and sum of squares of sample values per group over
-- (start, end], in parts, for answers that must not depend on the order
-- rows come in (a group pooling several series: a store adds them in the
-- order they were written, a Prometheus-compatible source in time order).
-- Every finite value is m * 2^e exactly, m an integer below 2^54 (as in
-- agg_sum_exact); m's magnitude is split into h * 2^28 + l so that
-- m^2 = h^2 * 2^56 + 2hl * 2^28 + l^2 sums as integers too. Integer sums
-- cannot round, so the parts are the same whatever the order (DuckDB's
-- threads may add them in any). Zeros and non-finite values count with
-- m = 0; the last column says whether every value was finite.
-- $3 is the selection's id in sel (one table holds every selection).
SELECT grp, e, count(*), sum(m), sum(h * h), sum(h * l), sum(l * l), bool_and(fin)
FROM (
    SELECT grp, e, fin, m, abs(m) >> 28 AS h, abs(m) & 268435455 AS l
    FROM (
        SELECT grp, e, fin, CAST(w * pow(2.0, -(e // 2)) * pow(2.0, (e // 2) - e) AS BIGINT) AS m
        FROM (
            SELECT g.grp, isfinite(s.value) AS fin,
                   CASE WHEN isfinite(s.value) THEN s.value ELSE 0 END AS w,
                   greatest(CAST(floor(log2(abs(CASE WHEN isfinite(s.value) AND s.value <> 0 THEN s.value ELSE 1 END))) AS INTEGER) - 53, -1074) AS e
            FROM all_samples s
            JOIN sel g ON g.sel_id = $3 AND g.store = s.store AND g.series_id = s.series_id
            WHERE s.ts > $1 AND s.ts <= $2
        )
    )
)
GROUP BY grp, e
