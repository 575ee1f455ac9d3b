-- For each indicator, one country: among those whose values vary, the one with the most observations (the most varied
-- among equals). Its actual values, the ML step's predictions for the held-out years, the naive baseline there and the
-- forecast, as one line each.
WITH country AS (
    SELECT indicator, arg_max(ref_area, (spread > 0, n, spread)) AS ref_area
    FROM (SELECT indicator, ref_area, count(*) AS n, coalesce(stddev_pop(obs_value), 0) AS spread
          FROM trusted.wb_observations WHERE area_type = 'country' AND obs_value IS NOT NULL GROUP BY ALL)
    GROUP BY indicator
), observed AS (
    SELECT o.indicator, o.ref_area, any_value(o.ref_area_name) OVER (PARTITION BY o.ref_area) AS ref_area_name, o.unit_measure,
           o.year, o.obs_value
    FROM trusted.wb_observations o JOIN country USING (indicator, ref_area)
    WHERE o.obs_value IS NOT NULL
)
SELECT indicator, ref_area, ref_area_name, unit_measure, year, 'actual' AS line, obs_value AS value FROM observed
UNION ALL
SELECT f.indicator, f.ref_area, (SELECT any_value(ref_area_name) FROM observed o WHERE o.ref_area = f.ref_area), f.unit_measure, f.year,
       CASE f.kind WHEN 'holdout' THEN 'predicted (held out)' ELSE 'forecast' END, f.predicted
FROM refined.wb_forecast f JOIN country USING (indicator, ref_area)
UNION ALL
SELECT f.indicator, f.ref_area, (SELECT any_value(ref_area_name) FROM observed o WHERE o.ref_area = f.ref_area), f.unit_measure, f.year,
       'naive baseline (held out)', f.baseline
FROM refined.wb_forecast f JOIN country USING (indicator, ref_area)
WHERE f.kind = 'holdout'
ORDER BY indicator, line, year
