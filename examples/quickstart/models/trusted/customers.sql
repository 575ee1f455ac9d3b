-- Customers with their address, city and country, from the Sakila tables as they are now (trusted.sakila_*).
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
FROM trusted.sakila_customer c
JOIN trusted.sakila_address a USING (address_id)
JOIN trusted.sakila_city ci USING (city_id)
JOIN trusted.sakila_country co USING (country_id)
