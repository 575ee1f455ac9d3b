-- Revenue, rentals and paying customers per country and month, with the country's share of the month's revenue.
SELECT
    country,
    CAST(year(rental_date) AS INTEGER) AS year,
    CAST(month(rental_date) AS INTEGER) AS month,
    count(*) AS rentals,
    count(DISTINCT customer_id) AS customers,
    sum(amount_paid) AS revenue,
    round(sum(amount_paid) / sum(sum(amount_paid)) OVER (PARTITION BY year(rental_date), month(rental_date)), 6) AS revenue_share
FROM trusted.rentals
GROUP BY country, year(rental_date), month(rental_date)
