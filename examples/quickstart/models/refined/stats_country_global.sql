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
    percentile_cont(0.5) WITHIN GROUP (ORDER BY obs_value) AS median_value,
    min(obs_value) AS min_value,
    max(obs_value) AS max_value,
    stddev_samp(obs_value) AS stddev_value,
    min_by(ref_area, obs_value) AS min_area,
    max_by(ref_area, obs_value) AS max_area,
    min(year) FILTER (WHERE obs_value IS NOT NULL) AS first_year,
    max(year) FILTER (WHERE obs_value IS NOT NULL) AS last_year
FROM trusted.wb_observations
GROUP BY ALL
