-- One row per rental: who rented which film from which store, what they paid, and their country. Each Sakila table is
-- read as it is now (trusted.sakila_*: each key's newest captured row, merged incrementally from raw; deleted keys gone).
WITH payment AS (
    SELECT rental_id, sum(amount) AS amount, max(payment_date) AS payment_date
    FROM trusted.sakila_payment
    GROUP BY rental_id
), film_category AS (
    -- The key is (film_id, category_id); a film with several categories keeps its lowest.
    SELECT * FROM (
        SELECT *, row_number() OVER (PARTITION BY film_id ORDER BY category_id ASC NULLS LAST) AS first_category
        FROM trusted.sakila_film_category
    ) AS categories
    WHERE first_category = 1
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
FROM trusted.sakila_rental r
JOIN trusted.sakila_inventory i USING (inventory_id)
JOIN trusted.sakila_film f USING (film_id)
LEFT JOIN film_category fc USING (film_id)
LEFT JOIN trusted.sakila_category cat USING (category_id)
LEFT JOIN payment p USING (rental_id)
JOIN trusted.customers cu USING (customer_id)
