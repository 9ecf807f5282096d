CREATE OR REPLACE FUNCTION checkin_ensure_partitions(p_day date) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    parent text;
    child text;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('lindung_checkin_partitions'));
    FOREACH parent IN ARRAY ARRAY['visits', 'refused_attempts'] LOOP
        child := parent || '_p' || to_char(p_day, 'YYYYMMDD');
        IF to_regclass(child) IS NULL THEN
            EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                           child, parent);
            EXECUTE format(
                'ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                parent, child,
                (p_day::timestamp AT TIME ZONE 'UTC'),
                ((p_day + 1)::timestamp AT TIME ZONE 'UTC'));
        END IF;
    END LOOP;
END $$
