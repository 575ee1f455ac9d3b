-- One row per payment with the rental, film, category, store and the customer's country. Raw tables keep every
-- capture (incremental captures overlap), so each table is reduced to the newest row of each primary key.
WITH payment AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY payment_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_payment) AS rows_1
    WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
), staff AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY staff_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_staff) AS rows_2
    WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
)
SELECT
    p.payment_id,
    p.payment_date,
    p.amount,
    p.customer_id,
    p.staff_id,
    s.store_id AS staff_store_id,
    p.rental_id,
    r.store_id AS rental_store_id,
    r.film_id,
    r.film_title,
    r.category,
    cu.city,
    cu.country
FROM payment p
JOIN staff s USING (staff_id)
JOIN trusted.customers cu USING (customer_id)
LEFT JOIN trusted.rentals r USING (rental_id)
