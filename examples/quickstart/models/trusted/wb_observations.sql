-- World Bank observations, typed: OBS_VALUE parsed to DOUBLE ("null" and "" become NULL, never 0), TIME_PERIOD to an
-- integer year, every dimension kept, one row per natural key (the latest capture wins).
SELECT
    DATABASE_ID AS database_id,
    INDICATOR AS indicator,
    REF_AREA AS ref_area,
    SEX AS sex,
    AGE AS age,
    URBANISATION AS urbanisation,
    COMP_BREAKDOWN_1 AS comp_breakdown_1,
    COMP_BREAKDOWN_2 AS comp_breakdown_2,
    COMP_BREAKDOWN_3 AS comp_breakdown_3,
    TRY_CAST(TIME_PERIOD AS INTEGER) AS year,
    TIME_PERIOD AS time_period,
    TRY_CAST(nullif(nullif(trim(OBS_VALUE), ''), 'null') AS DOUBLE) AS obs_value,
    UNIT_MEASURE AS unit_measure,
    UNIT_MULT AS unit_mult,
    FREQ AS freq,
    OBS_STATUS AS obs_status,
    LATEST_DATA AS latest_data,
    _payload AS source_payload,
    _caudal_ingested_at AS captured_at
FROM raw.worldbank_observations
QUALIFY row_number() OVER (
    PARTITION BY DATABASE_ID, INDICATOR, REF_AREA, SEX, AGE, URBANISATION, COMP_BREAKDOWN_1, COMP_BREAKDOWN_2,
                 COMP_BREAKDOWN_3, UNIT_MEASURE, FREQ, TIME_PERIOD
    ORDER BY _caudal_ingested_at DESC) = 1
