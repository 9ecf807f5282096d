CREATE OR REPLACE FUNCTION checkin_replay_pending(p_venue uuid, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    r pending_offline_visits%ROWTYPE;
    n integer := 0;
    day date;
BEGIN
    FOR r IN
        SELECT pv.* FROM pending_offline_visits pv
        JOIN venues vn ON vn.venue_id = pv.venue_id
        WHERE p_venue IS NULL OR pv.venue_id = p_venue
        ORDER BY pv.person_id, pv.scanned_at
        LIMIT p_limit
        FOR UPDATE OF pv SKIP LOCKED
    LOOP
        day := (r.scanned_at AT TIME ZONE 'UTC')::date;
        IF to_regclass('visits_p' || to_char(day, 'YYYYMMDD')) IS NULL THEN
            PERFORM checkin_ensure_partitions(day);
        END IF;
        -- Late by now whatever it was at upload: occupancy and current visits stay untouched.
        PERFORM checkin_scan(r.person_id, r.venue_id, r.qr_id, r.entrance, r.scanned_at,
                             r.client_id, 'offline', false, r.rule_version, r.visit_id);
        DELETE FROM pending_offline_visits pv
        WHERE pv.person_id = r.person_id AND pv.client_id = r.client_id;
        n := n + 1;
    END LOOP;
    RETURN n;
END $$
