-- Sakila's countries conformed to ISO 3166 alpha-3 codes through the reference's names and aliases ("Kazakstan",
-- "Runion", "Congo, The Democratic Republic of the" …). An unmatched name keeps a NULL code: the not_null check
-- reports it (warn) instead of dropping the country.
WITH reference AS (
    SELECT * FROM raw.reference_countries
    WHERE _caudal_ingested_at = (SELECT max(_caudal_ingested_at) FROM raw.reference_countries) -- the latest capture
), spellings AS (
    SELECT iso3, is_former, unnest(list_concat([name], string_split(coalesce(aliases, ''), ';'))) AS spelling
    FROM reference
    WHERE NOT is_aggregate
), country AS (
    SELECT * FROM raw.sakila_country
    QUALIFY row_number() OVER (PARTITION BY country_id ORDER BY _caudal_ingested_at DESC) = 1
)
SELECT c.country_id, c.country, s.iso3, coalesce(s.is_former, false) AS is_former
FROM country c
LEFT JOIN spellings s ON s.spelling = c.country
