-- SQLite. Every series of a store, with whether it has samples in the
-- window (?, ?] (unix ms): vigil lint checks names and labels of the
-- series active in the window, and rule references against all of them.
SELECT se.name, se.type, se.labels, se.service,
       se.id IN (SELECT series_id FROM samples WHERE ts > ? AND ts <= ?) AS active
FROM series se
ORDER BY se.id
