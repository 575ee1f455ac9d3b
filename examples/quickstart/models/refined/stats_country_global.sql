-- Per series, across areas: every observation of every country pooled (and, apart, of every aggregate such as WLD or
-- EUU, so regions never count as countries). Missing values are counted, never averaged in as 0.
SELECT
    database_id,
    indicator,
    sex,
    age,
    urbanisation,
    comp_breakdown_1,
    comp_breakdown_2,
    comp_breakdown_3,
    unit_measure,
    area_type,
    count(DISTINCT ref_area) FILTER (WHERE obs_value IS NOT NULL) AS n_areas,
    count(obs_value) AS n_obs,
    count(*) - count(obs_value) AS n_missing,
    avg(obs_value) AS avg_value,
    quantile_cont(obs_value, 0.5) AS median_value,
    min(obs_value) AS min_value,
    max(obs_value) AS max_value,
    stddev_samp(obs_value) AS stddev_value,
    arg_min(ref_area, obs_value) AS min_area,
    arg_max(ref_area, obs_value) AS max_area,
    min(year) FILTER (WHERE obs_value IS NOT NULL) AS first_year,
    max(year) FILTER (WHERE obs_value IS NOT NULL) AS last_year
FROM trusted.wb_observations
GROUP BY ALL
