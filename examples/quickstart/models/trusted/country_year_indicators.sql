-- The join of the two worlds: per country and year, Sakila's activity (rentals, paying customers, revenue) beside every
-- World Bank series observed for that country. Sakila's years (2005-2006) and an indicator's years rarely meet, so each
-- activity year takes the series' observation nearest in time (the earlier one on a tie) and says which year that is
-- (indicator_year, years_apart): filter on years_apart to demand an exact match. Countries in only one source are
-- not here (trusted.countries lists every Sakila country and its code; unmapped ones are reported by its check).
WITH activity AS (
    SELECT c.iso3, r.country, CAST(year(r.rental_date) AS INTEGER) AS year,
           count(*) AS rentals, count(DISTINCT r.customer_id) AS customers, sum(r.amount_paid) AS revenue
    FROM trusted.rentals r
    JOIN trusted.countries c USING (country)
    WHERE c.iso3 IS NOT NULL
    GROUP BY ALL
), series AS (
    SELECT * FROM trusted.wb_observations
    WHERE obs_value IS NOT NULL AND year IS NOT NULL AND area_type = 'country'
), matched AS (
    SELECT
        a.iso3,
        a.country,
        a.year,
        a.rentals,
        a.customers,
        a.revenue,
        s.database_id,
        s.indicator,
        s.sex,
        s.age,
        s.urbanisation,
        s.comp_breakdown_1,
        s.comp_breakdown_2,
        s.comp_breakdown_3,
        s.unit_measure,
        s.year AS indicator_year,
        abs(s.year - a.year) AS years_apart,
        s.obs_value,
        row_number() OVER (
            PARTITION BY a.iso3, a.year, s.database_id, s.indicator, s.sex, s.age, s.urbanisation, s.comp_breakdown_1,
                         s.comp_breakdown_2, s.comp_breakdown_3, s.unit_measure
            ORDER BY abs(s.year - a.year) ASC NULLS LAST, s.year ASC NULLS LAST) AS nearest
    FROM activity a
    JOIN series s ON s.ref_area = a.iso3
)
SELECT iso3, country, year, rentals, customers, revenue, database_id, indicator, sex, age, urbanisation, comp_breakdown_1, comp_breakdown_2, comp_breakdown_3, unit_measure, indicator_year, years_apart, obs_value
FROM matched
WHERE nearest = 1
