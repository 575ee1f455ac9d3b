-- One row per payment with the rental, film, category, store and the customer's country, from the Sakila tables as
-- they are now (trusted.sakila_*: each key's newest captured row, merged incrementally from raw).
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
FROM trusted.sakila_payment p
JOIN trusted.sakila_staff s USING (staff_id)
JOIN trusted.customers cu USING (customer_id)
LEFT JOIN trusted.rentals r USING (rental_id)
