-- A source's samples of one metric (?: its name), deleted before the
-- metric is loaded again over a wider range (runs with the source's
-- catalog as default).
DELETE FROM samples WHERE series_id IN (SELECT id FROM series WHERE name = $1)
