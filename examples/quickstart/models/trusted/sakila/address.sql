-- Sakila's address as it is now: each key's newest captured row. Incremental: only what raw.sakila_address committed
-- since this table's last run is read (raw.sakila_address__new) and merged by key; a key whose newest row is a delete goes.
SELECT * EXCLUDE (newest) FROM (
    SELECT *, row_number() OVER (PARTITION BY address_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest
    FROM raw.sakila_address__new) AS rows_1
WHERE newest = 1
