-- Indicator names, units and definitions from the Data360 metadata (POST /data360/metadata), the latest capture of each.
SELECT
    json_extract_string(series_description, '$.idno') AS indicator,
    json_extract_string(series_description, '$.database_id') AS database_id,
    json_extract_string(series_description, '$.database_name') AS database_name,
    json_extract_string(series_description, '$.name') AS indicator_name,
    json_extract_string(series_description, '$.measurement_unit') AS measurement_unit,
    json_extract_string(series_description, '$.periodicity') AS periodicity,
    json_extract_string(series_description, '$.definition_long') AS definition
FROM raw.worldbank_metadata
QUALIFY row_number() OVER (PARTITION BY id ORDER BY _caudal_ingested_at DESC) = 1
