-- Across countries, per activity year and series: do Sakila's revenue, customers and rentals move with the indicator?
-- Pearson correlation over the countries present in both sources (trusted.country_year_indicators); with fewer than
-- 3 countries a correlation means nothing and is NULL. years_apart_max says how far the indicator's years were.
SELECT
    year,
    database_id,
    indicator,
    sex,
    age,
    urbanisation,
    comp_breakdown_1,
    comp_breakdown_2,
    comp_breakdown_3,
    unit_measure,
    count(*) AS n_countries,
    max(years_apart) AS years_apart_max,
    CASE WHEN count(*) >= 3 THEN corr(revenue, obs_value) END AS corr_revenue,
    CASE WHEN count(*) >= 3 THEN corr(customers, obs_value) END AS corr_customers,
    CASE WHEN count(*) >= 3 THEN corr(rentals, obs_value) END AS corr_rentals
FROM trusted.country_year_indicators
GROUP BY ALL
