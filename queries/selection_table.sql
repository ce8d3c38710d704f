-- The selections queries pick by their id (analyze/memo.go): the series of
-- each selection, by store, and the group each falls in. Starts empty with
-- every set of views.
CREATE OR REPLACE TEMP TABLE sel (sel_id INTEGER, store INTEGER, series_id BIGINT, grp INTEGER)
