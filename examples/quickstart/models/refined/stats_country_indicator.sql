-- Per area and series (database, indicator and its breakdowns: sexes or age groups are never mixed): how many values,
-- their mean, exact median, spread and the years they cover. Missing values are counted, never averaged in as 0.
SELECT
    ref_area,
    any_value(ref_area_name) AS ref_area_name,
    area_type,
    database_id,
    indicator,
    sex,
    age,
    urbanisation,
    comp_breakdown_1,
    comp_breakdown_2,
    comp_breakdown_3,
    unit_measure,
    count(obs_value) AS n_obs,
    count(*) - count(obs_value) AS n_missing,
    avg(obs_value) AS avg_value,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY obs_value) AS median_value,
    min(obs_value) AS min_value,
    max(obs_value) AS max_value,
    stddev_samp(obs_value) AS stddev_value,
    min(year) FILTER (WHERE obs_value IS NOT NULL) AS first_year,
    max(year) FILTER (WHERE obs_value IS NOT NULL) AS last_year
FROM trusted.wb_observations
GROUP BY ref_area, area_type, database_id, indicator, sex, age, urbanisation, comp_breakdown_1, comp_breakdown_2,
         comp_breakdown_3, unit_measure
