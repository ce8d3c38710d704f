-- The (store, series, group) rows of selection $1.
SELECT store, series_id, grp FROM sel WHERE sel_id = $1
