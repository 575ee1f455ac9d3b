-- What the ML step learns from: every country's observed values (aggregates and missing values left out). The step
-- trains one model per series (see ml.series in caudal.yaml) and holds out each series' latest years.
SELECT database_id, indicator, sex, age, urbanisation, comp_breakdown_1, comp_breakdown_2, comp_breakdown_3, unit_measure,
       ref_area, year, obs_value
FROM trusted.wb_observations
WHERE area_type = 'country' AND obs_value IS NOT NULL AND year IS NOT NULL
