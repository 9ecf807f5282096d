CREATE OR REPLACE FUNCTION checkin_checkout(
    p_person uuid,
    p_visit uuid,
    p_at timestamptz,
    OUT o_found boolean,
    OUT o_venue_id uuid,
    OUT o_checked_in_at timestamptz,
    OUT o_checked_out_at timestamptz,
    OUT o_checkout_method text,
    OUT o_present integer
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    cur open_visits%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(p_person::text, 7));
    DELETE FROM open_visits ov WHERE ov.person_id = p_person AND ov.visit_id = p_visit
    RETURNING * INTO cur;
    IF FOUND THEN
        UPDATE visits vi SET
            checked_out_at = CASE WHEN cur.auto_checkout_at <= p_at
                THEN cur.auto_checkout_at ELSE greatest(p_at, cur.checked_in_at) END,
            checkout_method = CASE WHEN cur.auto_checkout_at <= p_at
                THEN cur.auto_checkout_method ELSE 'explicit' END
        WHERE vi.visit_id = cur.visit_id AND vi.checked_in_at = cur.checked_in_at;
        IF cur.counted THEN
            UPDATE venue_occupancy vo SET present = greatest(vo.present - 1, 0)
            WHERE vo.venue_id = cur.venue_id;
        END IF;
    END IF;
    SELECT true, vi.venue_id, vi.checked_in_at, vi.checked_out_at, vi.checkout_method
    INTO o_found, o_venue_id, o_checked_in_at, o_checked_out_at, o_checkout_method
    FROM visits vi WHERE vi.visit_id = p_visit AND vi.person_id = p_person;
    o_found := coalesce(o_found, false);
    IF o_found THEN
        SELECT vo.present INTO o_present FROM venue_occupancy vo WHERE vo.venue_id = o_venue_id;
    END IF;
END $$
