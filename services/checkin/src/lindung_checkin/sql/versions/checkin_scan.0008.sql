CREATE OR REPLACE FUNCTION checkin_scan(
    p_person uuid,
    p_venue uuid,
    p_qr uuid,
    p_entrance text,
    p_at timestamptz,
    p_client_id text,
    p_source text,
    p_live boolean,
    p_rule_version text,
    p_visit_id uuid,
    p_checked_out_at timestamptz,
    OUT o_outcome text,
    OUT o_visit_id uuid,
    OUT o_reason text,
    OUT o_colour text,
    OUT o_present integer,
    OUT o_capacity integer,
    OUT o_venue_name text,
    OUT o_zone_level integer,
    OUT o_checked_in_at timestamptz,
    OUT o_auto_checkout_at timestamptz,
    OUT o_replayed boolean,
    OUT o_closed_visit_id uuid,
    OUT o_closed_venue_id uuid
)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
    v venues%ROWTYPE;
    prev client_ids%ROWTYPE;
    cur open_visits%ROWTYPE;
    has_open boolean := false;
    status_valid timestamptz;
    decision text;
    close_at timestamptz;
    auto_method text;
    local_day date;
    released boolean := false;
    out_at timestamptz;
    out_method text;
BEGIN
    IF p_live OR p_client_id IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(p_person::text, 7));
    END IF;
    o_replayed := false;
    o_checked_in_at := p_at;
    IF p_client_id IS NOT NULL THEN
        SELECT * INTO prev FROM client_ids c
        WHERE c.person_id = p_person AND c.client_id = p_client_id;
        IF FOUND THEN
            o_replayed := true;
            o_outcome := prev.outcome;
            o_visit_id := prev.visit_id;
            o_reason := prev.reason;
            o_colour := prev.colour;
            o_checked_in_at := prev.scanned_at;
            SELECT vn.name, vn.effective_capacity, vo.present, z.level
            INTO o_venue_name, o_capacity, o_present, o_zone_level
            FROM venues vn
            LEFT JOIN venue_occupancy vo ON vo.venue_id = vn.venue_id
            LEFT JOIN zones z ON z.regency_code = vn.regency_code
            WHERE vn.venue_id = prev.venue_id;
            IF prev.visit_id IS NOT NULL THEN
                SELECT vi.auto_checkout_at INTO o_auto_checkout_at FROM visits vi
                WHERE vi.visit_id = prev.visit_id AND vi.checked_in_at = prev.scanned_at;
            END IF;
            RETURN;
        END IF;
    END IF;

    SELECT * INTO v FROM venues vn WHERE vn.venue_id = p_venue;
    IF NOT FOUND THEN
        IF p_source <> 'offline' OR p_client_id IS NULL THEN
            o_outcome := 'unknown_venue';
            RETURN;
        END IF;
        -- A signed code of a venue not known here yet: the visit is held until the venue's
        -- event arrives (checkin_replay_pending). A retry answers with the same visit id.
        INSERT INTO pending_offline_visits (person_id, client_id, visit_id, venue_id, qr_id,
                                            entrance, scanned_at, rule_version,
                                            checked_out_at)
        VALUES (p_person, p_client_id, p_visit_id, p_venue, p_qr, p_entrance, p_at,
                p_rule_version, p_checked_out_at)
        ON CONFLICT (person_id, client_id) DO NOTHING;
        SELECT pv.visit_id, pv.scanned_at INTO o_visit_id, o_checked_in_at
        FROM pending_offline_visits pv
        WHERE pv.person_id = p_person AND pv.client_id = p_client_id;
        o_outcome := 'pending';
        RETURN;
    END IF;
    o_venue_name := v.name;
    o_capacity := v.effective_capacity;
    IF v.status = 'closed' THEN
        o_outcome := 'venue_closed';
        RETURN;
    END IF;
    IF p_qr IS NOT NULL AND EXISTS (SELECT 1 FROM revoked_qr_codes r WHERE r.qr_id = p_qr) THEN
        o_outcome := 'qr_revoked';
        RETURN;
    END IF;
    SELECT z.level INTO o_zone_level FROM zones z WHERE z.regency_code = v.regency_code;

    -- The colour held locally; no row (nothing known of a vaccination) or an expired status
    -- is screened as red.
    SELECT ps.colour, ps.valid_until INTO o_colour, status_valid
    FROM person_status ps WHERE ps.person_id = p_person;
    IF NOT FOUND OR (status_valid IS NOT NULL AND status_valid <= p_at) THEN
        o_colour := 'red';
    END IF;

    close_at := checkin_open_until(v.opening_hours, v.timezone, p_at);
    IF close_at IS NULL OR close_at > p_at + make_interval(mins => v.max_stay_minutes) THEN
        o_auto_checkout_at := p_at + make_interval(mins => v.max_stay_minutes);
        auto_method := 'max_stay';
    ELSE
        o_auto_checkout_at := close_at;
        auto_method := 'closing';
    END IF;

    IF NOT p_live THEN
        -- A late offline visit: it happened, so it is kept for tracing, but it neither
        -- touches present occupancy nor the person's current visit.
        o_visit_id := p_visit_id;
        o_outcome := 'recorded';
        -- An offline visit uploaded with its check-out (the app checked out while offline):
        -- it ended then, or at its automatic check-out if that came first.
        IF p_checked_out_at IS NOT NULL THEN
            IF o_auto_checkout_at <= p_checked_out_at THEN
                out_at := o_auto_checkout_at;
                out_method := auto_method;
            ELSE
                out_at := greatest(p_checked_out_at, p_at);
                out_method := 'explicit';
            END IF;
        END IF;
        INSERT INTO visits (visit_id, person_id, venue_id, qr_id, entrance, checked_in_at,
                            checked_out_at, checkout_method, auto_checkout_at, client_id,
                            source, colour, rule_version, counted)
        VALUES (p_visit_id, p_person, p_venue, p_qr, p_entrance, p_at, out_at, out_method,
                o_auto_checkout_at, p_client_id, p_source, o_colour, p_rule_version, false);
        SELECT vo.present INTO o_present FROM venue_occupancy vo WHERE vo.venue_id = p_venue;
    ELSE
        -- One scan at a time per person.
        PERFORM pg_advisory_xact_lock(hashtextextended(p_person::text, 7));
        DELETE FROM open_visits ov WHERE ov.person_id = p_person RETURNING * INTO cur;
        has_open := FOUND;
        IF has_open THEN
            o_closed_visit_id := cur.visit_id;
            o_closed_venue_id := cur.venue_id;
            UPDATE visits vi SET
                checked_out_at = CASE WHEN cur.auto_checkout_at <= p_at
                    THEN cur.auto_checkout_at ELSE greatest(p_at, cur.checked_in_at) END,
                checkout_method = CASE WHEN cur.auto_checkout_at <= p_at
                    THEN cur.auto_checkout_method
                    WHEN cur.venue_id = p_venue THEN 'rescan' ELSE 'elsewhere' END
            WHERE vi.visit_id = cur.visit_id AND vi.checked_in_at = cur.checked_in_at;
            -- Lock order: occupancy rows in venue id order.
            IF cur.counted AND cur.venue_id <= p_venue THEN
                UPDATE venue_occupancy vo SET present = greatest(vo.present - 1, 0)
                WHERE vo.venue_id = cur.venue_id;
                released := true;
            END IF;
        END IF;

        IF has_open AND cur.venue_id = p_venue AND cur.auto_checkout_at > p_at THEN
            -- Scanning the venue again while inside: that is the way out.
            o_outcome := 'checked_out';
            o_visit_id := cur.visit_id;
            o_checked_in_at := cur.checked_in_at;
            o_auto_checkout_at := NULL;
        ELSIF close_at IS NULL THEN
            o_outcome := 'refused';
            o_reason := 'outside_opening_hours';
        ELSE
            SELECT sr.decision INTO decision FROM sector_rules sr
            WHERE sr.version = p_rule_version AND sr.category = v.category
              AND sr.colour = o_colour;
            IF decision IS NULL THEN
                decision := CASE WHEN o_colour = 'black' THEN 'refuse' ELSE 'admit' END;
            END IF;
            IF decision = 'refuse' THEN
                o_outcome := 'refused';
                o_reason := 'colour_' || o_colour;
            ELSE
                local_day := (p_at AT TIME ZONE v.timezone)::date;
                UPDATE venue_occupancy vo SET
                    present = vo.present + 1,
                    peak = CASE WHEN vo.peak_day = local_day
                        THEN greatest(vo.peak, vo.present + 1) ELSE vo.present + 1 END,
                    peak_day = local_day
                WHERE vo.venue_id = p_venue AND vo.present < v.effective_capacity
                RETURNING vo.present INTO o_present;
                IF FOUND THEN
                    o_outcome := 'admitted';
                    o_reason := CASE WHEN decision = 'admit_with_check'
                        THEN 'admitted_with_check' ELSE 'admitted' END;
                    o_visit_id := p_visit_id;
                    INSERT INTO visits (visit_id, person_id, venue_id, qr_id, entrance,
                        checked_in_at, auto_checkout_at, client_id, source, colour,
                        rule_version, counted)
                    VALUES (p_visit_id, p_person, p_venue, p_qr, p_entrance, p_at,
                        o_auto_checkout_at, p_client_id, p_source, o_colour, p_rule_version,
                        true);
                    INSERT INTO open_visits (person_id, visit_id, venue_id, checked_in_at,
                        auto_checkout_at, auto_checkout_method, counted)
                    VALUES (p_person, p_visit_id, p_venue, p_at, o_auto_checkout_at,
                        auto_method, true);
                ELSE
                    o_outcome := 'refused';
                    o_reason := 'venue_full';
                END IF;
            END IF;
        END IF;

        IF has_open AND cur.counted AND NOT released THEN
            UPDATE venue_occupancy vo SET present = greatest(vo.present - 1, 0)
            WHERE vo.venue_id = cur.venue_id;
        END IF;
        IF o_outcome = 'refused' THEN
            o_auto_checkout_at := NULL;
            INSERT INTO refused_attempts (attempt_id, venue_id, attempted_at, colour, reason,
                                          rule_version, source)
            VALUES (p_visit_id, p_venue, p_at, o_colour, o_reason, p_rule_version, p_source);
        END IF;
        IF o_present IS NULL THEN
            SELECT vo.present INTO o_present FROM venue_occupancy vo
            WHERE vo.venue_id = p_venue;
        END IF;
    END IF;

    IF p_source = 'offline' AND o_outcome IN ('recorded', 'admitted') THEN
        INSERT INTO late_visits (visit_id, person_id, venue_id, stay_start, stay_end)
        VALUES (o_visit_id, p_person, p_venue, p_at, coalesce(out_at, o_auto_checkout_at));
    END IF;
    IF p_client_id IS NOT NULL THEN
        INSERT INTO client_ids (person_id, client_id, visit_id, venue_id, scanned_at, outcome,
                                reason, colour)
        VALUES (p_person, p_client_id, o_visit_id, p_venue, o_checked_in_at, o_outcome,
                o_reason, o_colour);
    END IF;
END $$
