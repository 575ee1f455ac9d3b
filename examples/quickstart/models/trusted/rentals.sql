-- One row per rental: who rented which film from which store, what they paid, and their country.
-- Raw tables keep every capture, so each source table is reduced to the newest row of each primary key, and a key
-- whose newest row is a delete (deletes: detect) is gone.
WITH rental AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY rental_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_rental) AS rows_1
    WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
), payment AS (
    SELECT rental_id, sum(amount) AS amount, max(payment_date) AS payment_date
    FROM (
        SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY payment_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_payment) AS rows_2
        WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
    )
    GROUP BY rental_id
), inventory AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY inventory_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_inventory) AS rows_3
    WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
), film AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY film_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_film) AS rows_4
    WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
), film_category AS (
    -- The key is (film_id, category_id); a film with several categories keeps its lowest.
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY film_id ORDER BY category_id ASC NULLS LAST) AS first_category
        FROM (SELECT *, row_number() OVER (PARTITION BY film_id, category_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_film_category) AS rows_5
        WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
    ) AS categories
    WHERE first_category = 1
), category AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY category_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_category) AS rows_6
    WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
)
SELECT
    r.rental_id,
    r.rental_date,
    r.return_date,
    r.customer_id,
    i.store_id,
    f.film_id,
    f.title AS film_title,
    f.rating AS film_rating,
    cat.name AS category,
    coalesce(p.amount, 0) AS amount_paid,
    p.payment_date,
    cu.city,
    cu.country
FROM rental r
JOIN inventory i USING (inventory_id)
JOIN film f USING (film_id)
LEFT JOIN film_category fc USING (film_id)
LEFT JOIN category cat USING (category_id)
LEFT JOIN payment p USING (rental_id)
JOIN trusted.customers cu USING (customer_id)
