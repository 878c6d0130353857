-- The gap class of a row with ftth_share and civici_per_1000: the first of the reference classes (:class_names,
-- best first) whose FTTH floor and listed-civic ceiling (NULL: none) it meets; 'unknown' where an input is missing.
CASE WHEN civici_per_1000 IS NULL OR ftth_share IS NULL THEN 'unknown'
     ELSE (SELECT k.name FROM unnest(CAST(:class_names AS text[]), CAST(:class_floors AS float8[]),
                                     CAST(:class_ceilings AS float8[])) WITH ORDINALITY
                              AS k(name, floor, ceiling, position)
           WHERE ftth_share >= k.floor AND civici_per_1000 <= coalesce(k.ceiling, 'Infinity')
           ORDER BY k.position LIMIT 1) END
