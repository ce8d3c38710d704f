DELETE FROM cache_meta;
DELETE FROM series;
DELETE FROM samples;
