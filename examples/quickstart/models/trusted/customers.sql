-- Customers with their address, city and country. Raw tables keep every capture, so take the newest row of each key.
WITH customer AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY customer_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_customer) AS rows_1
    WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
), address AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY address_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_address) AS rows_2
    WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
), city AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY city_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_city) AS rows_3
    WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
), country AS (
    SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY country_id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest FROM raw.sakila_country) AS rows_4
    WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
)
SELECT
    c.customer_id,
    c.store_id,
    c.first_name,
    c.last_name,
    c.email,
    c.active,
    c.create_date,
    a.district,
    ci.city,
    co.country
FROM customer c
JOIN address a USING (address_id)
JOIN city ci USING (city_id)
JOIN country co USING (country_id)
