-- The exact sum of sample values per group over (start, end], in parts:
-- every value is m * 2^e exactly, with m an integer below 2^56 (e is one
-- or two below the value's exponent minus 52, so log2's rounding cannot
-- leave a fraction; the scaling is split in two so that 2^1074 never has
-- to exist). Integer mantissas summed per exponent cannot round; the
-- caller adds the parts as big integers and rounds once.
-- $3 is the selection's id in sel (one table holds every selection).
SELECT grp, e, sum(CAST(v * pow(2.0, -(e // 2)) * pow(2.0, (e // 2) - e) AS HUGEINT))
FROM (
    SELECT g.grp, s.value AS v,
           greatest(CAST(floor(log2(abs(s.value))) AS INTEGER) - 53, -1074) AS e
    FROM all_samples s
    JOIN sel g ON g.sel_id = $3 AND g.store = s.store AND g.series_id = s.series_id
    WHERE s.ts > $1 AND s.ts <= $2 AND s.value <> 0
)
GROUP BY grp, e
