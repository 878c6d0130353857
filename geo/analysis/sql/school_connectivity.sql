-- Each school's connectivity view: its municipality's FTTH share at the latest AGCOM date, and whether its
-- address (normalised street + civic number, same ISTAT code) is on the Infratel list of addresses without
-- >300 Mbit/s by 2028. A '?' in a listed street stands for a character the source lost.
-- Exact addresses are found through the address index and the few streets with lost characters through their own
-- partial index, never by reading every civic number of the municipality for each school.
-- status: 'gap' (address on the list), 'not_listed' (its street is on the list but not its number: the operators'
-- declarations reach this street and leave this number out), 'unknown' (no civic number, street not found on the
-- list, or the municipality absent from it: no evidence either way).
INSERT INTO out.school_connectivity (
    run_id, codicescuola, pro_com_t, cod_uts, gestione, livello, ref_date, municipality_ftth_share,
    match_status, infratel_id, infratel_class, gap, status, match_method, match_confidence
)
WITH latest AS (
    SELECT pro_com_t, ref_date, ftth_share FROM out.coverage_comune
    WHERE run_id = :run_id
      AND ref_date = (SELECT max(ref_date) FROM out.coverage_comune WHERE run_id = :run_id)
), matched AS (
    SELECT s.codicescuola, s.pro_com_t, c.cod_uts, s.gestione, s.livello, l.ref_date, l.ftth_share, m.id,
           m.caratteristica, m.method,
           CASE WHEN m.id IS NOT NULL THEN 'matched'
                WHEN s.strada_norm IS NULL THEN 'no_address'
                WHEN s.civico_norm IS NULL THEN 'no_civic_number'
                WHEN NOT EXISTS (
                    SELECT 1 FROM cov.infratel_civico i
                    WHERE i.pro_com_t = s.pro_com_t AND i.strada_norm = s.strada_norm
                ) AND NOT EXISTS (
                    SELECT 1 FROM cov.infratel_civico i
                    WHERE i.pro_com_t = s.pro_com_t AND i.lost_characters
                      AND s.strada_norm LIKE replace(i.strada_norm, '?', '_')
                ) THEN 'street_not_listed'
                ELSE 'number_not_listed' END AS match_status
    FROM school.scuola s
    JOIN ref.comune c USING (pro_com_t)
    LEFT JOIN latest l USING (pro_com_t)
    LEFT JOIN LATERAL (
        SELECT id, caratteristica, method FROM (
            (SELECT i.id, i.caratteristica, 'exact_address' AS method FROM cov.infratel_civico i
             WHERE i.pro_com_t = s.pro_com_t AND i.strada_norm = s.strada_norm AND i.civico_norm = s.civico_norm
             ORDER BY i.id LIMIT 1)
            UNION ALL
            (SELECT i.id, i.caratteristica, 'lost_character_street' FROM cov.infratel_civico i
             WHERE i.pro_com_t = s.pro_com_t AND i.lost_characters AND i.civico_norm = s.civico_norm
               AND s.strada_norm LIKE replace(i.strada_norm, '?', '_')
             ORDER BY i.id LIMIT 1)
        ) listed
        ORDER BY method, id
        LIMIT 1
    ) m ON s.civico_norm IS NOT NULL
)
SELECT :run_id, codicescuola, pro_com_t, cod_uts, gestione, livello, ref_date, ftth_share, match_status, id,
       caratteristica, id IS NOT NULL,
       CASE match_status WHEN 'matched' THEN 'gap' WHEN 'number_not_listed' THEN 'not_listed' ELSE 'unknown' END,
       CASE WHEN id IS NOT NULL THEN method
            WHEN match_status = 'number_not_listed' THEN 'street_on_list'
            ELSE 'none' END,
       CASE WHEN method = 'exact_address' THEN 'high'
            WHEN id IS NOT NULL OR match_status = 'number_not_listed' THEN 'medium'
            ELSE 'none' END
FROM matched
