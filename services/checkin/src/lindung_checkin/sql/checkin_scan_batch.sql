CREATE OR REPLACE FUNCTION checkin_scan_batch(
    p_persons uuid[],
    p_venues uuid[],
    p_qrs uuid[],
    p_entrances text[],
    p_ats timestamptz[],
    p_client_ids text[],
    p_sources text[],
    p_lives boolean[],
    p_rule_version text,
    p_visit_ids uuid[],
    p_checked_out_ats timestamptz[],
    -- The per-person rate limit, counted in the same transaction as the scans (one commit per
    -- group): each scan's counter bucket (NULL: not limited) and window start, the window's
    -- length in seconds and the hits it allows (lindung_shared.ratelimit's table and buckets).
    p_rate_buckets text[],
    p_rate_windows timestamptz[],
    p_rate_seconds integer,
    p_rate_max integer
)
RETURNS TABLE (
    o_index integer,
    o_outcome text,
    o_visit_id uuid,
    o_reason text,
    o_colour text,
    o_present integer,
    o_capacity integer,
    o_venue_name text,
    o_zone_level integer,
    o_checked_in_at timestamptz,
    o_auto_checkout_at timestamptz,
    o_replayed boolean,
    o_closed_visit_id uuid,
    o_closed_venue_id uuid
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    i integer;
    v_allowed boolean[];
BEGIN
    -- Count every limited scan (a refused one too), then allow the first p_rate_max of each
    -- window in arrival order: a scan's place is the hits before this group plus its rank in
    -- the group. Buckets are upserted in key order (no deadlock between groups).
    WITH req AS (
        SELECT t.idx, t.b, t.w
        FROM unnest(p_rate_buckets, p_rate_windows) WITH ORDINALITY AS t(b, w, idx)
    ), agg AS (
        SELECT b, w, count(*)::integer AS n FROM req WHERE b IS NOT NULL GROUP BY b, w
    ), up AS (
        INSERT INTO rate_limit_counters AS c (bucket, window_start, hits, expires_at)
        SELECT b, w, n, w + make_interval(secs => p_rate_seconds) FROM agg ORDER BY b, w
        ON CONFLICT (bucket, window_start) DO UPDATE SET hits = c.hits + EXCLUDED.hits
        RETURNING c.bucket, c.window_start, c.hits
    ), ranked AS (
        SELECT req.idx,
               req.b IS NULL
               OR up.hits - agg.n
                  + row_number() OVER (PARTITION BY req.b, req.w ORDER BY req.idx) <= p_rate_max
               AS allowed
        FROM req
        LEFT JOIN agg ON agg.b = req.b AND agg.w = req.w
        LEFT JOIN up ON up.bucket = req.b AND up.window_start = req.w
    )
    SELECT array_agg(allowed ORDER BY idx) INTO v_allowed FROM ranked;

    PERFORM pg_advisory_xact_lock(k)
    FROM (SELECT DISTINCT hashtextextended(p::text, 7) AS k FROM unnest(p_persons) AS p) AS keys
    ORDER BY k;
    PERFORM 1 FROM open_visits ov WHERE ov.person_id = ANY(p_persons)
    ORDER BY ov.person_id FOR UPDATE;
    PERFORM 1 FROM venue_occupancy vo
    WHERE vo.venue_id IN (
        SELECT unnest(p_venues)
        UNION
        SELECT ov.venue_id FROM open_visits ov WHERE ov.person_id = ANY(p_persons)
    )
    ORDER BY vo.venue_id FOR UPDATE;
    FOR i IN 1 .. coalesce(array_length(p_persons, 1), 0) LOOP
        IF v_allowed IS NOT NULL AND NOT v_allowed[i] THEN
            RETURN QUERY SELECT i, 'rate_limited'::text, NULL::uuid, NULL::text, NULL::text,
                NULL::integer, NULL::integer, NULL::text, NULL::integer, NULL::timestamptz,
                NULL::timestamptz, false, NULL::uuid, NULL::uuid;
            CONTINUE;
        END IF;
        RETURN QUERY SELECT i, s.* FROM checkin_scan(
            p_persons[i], p_venues[i], p_qrs[i], p_entrances[i], p_ats[i], p_client_ids[i],
            p_sources[i], p_lives[i], p_rule_version, p_visit_ids[i],
            p_checked_out_ats[i]) AS s;
    END LOOP;
END $$
