CREATE OR REPLACE FUNCTION checkin_open_until(p_hours jsonb, p_tz text, p_at timestamptz)
RETURNS timestamptz
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN p_hours IS NULL OR jsonb_array_length(p_hours) = 0
        THEN 'infinity'::timestamptz
        ELSE (
            SELECT max(w.close_at)
            FROM (
                SELECT
                    ((((p_at AT TIME ZONE p_tz)::date + d) + (h->>'opens')::time)
                        AT TIME ZONE p_tz) AS open_at,
                    CASE WHEN (h->>'closes')::time <= (h->>'opens')::time
                        THEN ((((p_at AT TIME ZONE p_tz)::date + d + 1) + (h->>'closes')::time)
                            AT TIME ZONE p_tz)
                        ELSE ((((p_at AT TIME ZONE p_tz)::date + d) + (h->>'closes')::time)
                            AT TIME ZONE p_tz)
                    END AS close_at
                FROM generate_series(-1, 0) AS d, jsonb_array_elements(p_hours) AS h
                WHERE (h->>'weekday')::int
                    = extract(isodow FROM (p_at AT TIME ZONE p_tz)::date + d)::int - 1
            ) AS w
            WHERE p_at >= w.open_at AND p_at < w.close_at
        )
    END
$$
