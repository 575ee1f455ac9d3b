-- Countries ranked per series (aggregates excluded): by their latest value, and by its change over the last 10 years
-- (latest value minus the earliest value at most 10 years before it; base_year says which). Rank 1 is the highest;
-- ties share a rank. A country with one value has no change and no change rank.
WITH obs AS (
    SELECT * FROM trusted.wb_observations
    WHERE obs_value IS NOT NULL AND year IS NOT NULL AND area_type = 'country'
), latest AS (
    SELECT database_id, indicator, sex, age, urbanisation, comp_breakdown_1, comp_breakdown_2, comp_breakdown_3,
           unit_measure, ref_area, any_value(ref_area_name) AS ref_area_name,
           max(year) AS latest_year, max_by(obs_value, year) AS latest_value
    FROM obs
    GROUP BY ALL
), change AS (
    SELECT l.*, min(o.year) AS base_year, min_by(o.obs_value, o.year) AS base_value
    FROM latest l
    LEFT JOIN obs o
        ON o.database_id = l.database_id AND o.indicator = l.indicator AND o.sex IS NOT DISTINCT FROM l.sex
       AND o.age IS NOT DISTINCT FROM l.age AND o.urbanisation IS NOT DISTINCT FROM l.urbanisation
       AND o.comp_breakdown_1 IS NOT DISTINCT FROM l.comp_breakdown_1 AND o.comp_breakdown_2 IS NOT DISTINCT FROM l.comp_breakdown_2
       AND o.comp_breakdown_3 IS NOT DISTINCT FROM l.comp_breakdown_3 AND o.unit_measure IS NOT DISTINCT FROM l.unit_measure
       AND o.ref_area = l.ref_area AND o.year >= l.latest_year - 10 AND o.year < l.latest_year
    GROUP BY ALL
)
SELECT
    *,
    latest_value - base_value AS change_10y,
    rank() OVER (PARTITION BY database_id, indicator, sex, age, urbanisation, comp_breakdown_1, comp_breakdown_2,
                              comp_breakdown_3, unit_measure
                 ORDER BY latest_value DESC) AS rank_latest,
    CASE WHEN base_value IS NOT NULL THEN
        rank() OVER (PARTITION BY database_id, indicator, sex, age, urbanisation, comp_breakdown_1, comp_breakdown_2,
                                  comp_breakdown_3, unit_measure, base_value IS NULL
                     ORDER BY latest_value - base_value DESC) END AS rank_change_10y
FROM change
