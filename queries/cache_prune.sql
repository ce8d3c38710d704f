-- Apply the store's retention horizon.
DELETE FROM samples WHERE ts < $1
