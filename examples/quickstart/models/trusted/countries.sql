-- Sakila's countries conformed to ISO 3166 alpha-3 codes through the reference's names and aliases ("Kazakstan",
-- "Runion", "Congo, The Democratic Republic of the" …). An unmatched name keeps a NULL code: the not_null check
-- reports it (warn) instead of dropping the country.
WITH reference AS (
    SELECT * FROM raw.reference_countries
    WHERE _caudal_ingested_at = (SELECT max(_caudal_ingested_at) FROM raw.reference_countries) -- the latest capture
), spellings AS (
    -- Each country's name, and each of its ';'-separated aliases (at most 8; the reference has at most 3).
    SELECT iso3, is_former, name AS spelling FROM reference WHERE NOT is_aggregate
    UNION ALL
    SELECT iso3, is_former, split_part(aliases, ';', n.i) AS spelling
    FROM reference
    CROSS JOIN (VALUES (1), (2), (3), (4), (5), (6), (7), (8)) AS n(i)
    WHERE NOT is_aggregate AND aliases IS NOT NULL AND split_part(aliases, ';', n.i) <> ''
)
SELECT c.country_id, c.country, s.iso3, coalesce(s.is_former, false) AS is_former
FROM trusted.sakila_country c
LEFT JOIN spellings s ON s.spelling = c.country
