-- Empties the selection table when it has grown past its bound
-- (analyze/memo.go); selection ids are never reused.
DELETE FROM temp.main.sel
