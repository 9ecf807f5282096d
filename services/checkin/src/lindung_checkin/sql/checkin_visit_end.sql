CREATE OR REPLACE FUNCTION checkin_visit_end(
    p_checked_in_at timestamptz,
    p_auto_checkout_at timestamptz,
    p_auto_checkout_method text,
    p_at timestamptz,
    p_method text,
    OUT o_checked_out_at timestamptz,
    OUT o_checkout_method text
)
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    -- How every visit ends (a scan elsewhere or again, an explicit or uploaded check-out, the
    -- sweeper, the venue closing): at its automatic check-out, with that method, when that
    -- came first; else at p_at (never before the check-in) with p_method.
    SELECT CASE WHEN p_auto_checkout_at <= p_at THEN p_auto_checkout_at
                ELSE greatest(p_at, p_checked_in_at) END,
           CASE WHEN p_auto_checkout_at <= p_at THEN p_auto_checkout_method
                ELSE p_method END
$$
