-- World Bank observations, typed: OBS_VALUE parsed to DOUBLE ("null", "NaN" and "" become NULL, never 0), TIME_PERIOD to an
-- integer year, every dimension kept, one row per natural key (the latest capture wins). The area's name and whether it
-- is a country or an aggregate (WLD, EUU, LAC …) come from the country reference; a code it lacks is 'unknown'.
-- Incremental: only the observations raw committed since the last run are read (raw.worldbank_observations__new) and
-- merged by the natural key; every capture of the source holds every observation, so each is joined with the latest
-- reference again.
WITH reference AS (
    SELECT * FROM raw.reference_countries
    WHERE _caudal_ingested_at = (SELECT max(_caudal_ingested_at) FROM raw.reference_countries) -- the latest capture
), observations AS (
    SELECT * FROM (SELECT *, row_number() OVER (
        PARTITION BY DATABASE_ID, INDICATOR, REF_AREA, SEX, AGE, URBANISATION, COMP_BREAKDOWN_1, COMP_BREAKDOWN_2,
                     COMP_BREAKDOWN_3, UNIT_MEASURE, FREQ, TIME_PERIOD
        ORDER BY _caudal_ingested_at DESC) AS newest FROM raw.worldbank_observations__new) AS rows_1
    WHERE newest = 1
)
SELECT
    DATABASE_ID AS database_id,
    INDICATOR AS indicator,
    REF_AREA AS ref_area,
    r.name AS ref_area_name,
    CASE WHEN r.iso3 IS NULL THEN 'unknown' WHEN r.is_aggregate THEN 'aggregate' ELSE 'country' END AS area_type,
    SEX AS sex,
    AGE AS age,
    URBANISATION AS urbanisation,
    COMP_BREAKDOWN_1 AS comp_breakdown_1,
    COMP_BREAKDOWN_2 AS comp_breakdown_2,
    COMP_BREAKDOWN_3 AS comp_breakdown_3,
    TRY_CAST(TIME_PERIOD AS INTEGER) AS year,
    TIME_PERIOD AS time_period,
    CASE WHEN lower(trim(OBS_VALUE)) IN ('', 'null', 'nan') THEN NULL ELSE TRY_CAST(trim(OBS_VALUE) AS DOUBLE) END AS obs_value,
    UNIT_MEASURE AS unit_measure,
    UNIT_MULT AS unit_mult,
    FREQ AS freq,
    OBS_STATUS AS obs_status,
    LATEST_DATA AS latest_data,
    o._payload AS source_payload,
    o._caudal_ingested_at AS captured_at
FROM observations o
LEFT JOIN reference r ON r.iso3 = o.REF_AREA
