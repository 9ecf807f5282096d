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
    p_checked_out_ats timestamptz[]
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
BEGIN
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
        RETURN QUERY SELECT i, s.* FROM checkin_scan(
            p_persons[i], p_venues[i], p_qrs[i], p_entrances[i], p_ats[i], p_client_ids[i],
            p_sources[i], p_lives[i], p_rule_version, p_visit_ids[i],
            p_checked_out_ats[i]) AS s;
    END LOOP;
END $$
