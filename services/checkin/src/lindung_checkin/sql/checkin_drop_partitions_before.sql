CREATE OR REPLACE FUNCTION checkin_drop_partitions_before(p_day date) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
    child record;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('lindung_checkin_partitions'));
    FOR child IN
        SELECT c.relname
        FROM pg_inherits i
        JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname IN ('visits', 'refused_attempts')
          AND c.relname ~ '_p[0-9]{8}$'
          AND to_date(right(c.relname, 8), 'YYYYMMDD') < p_day
        ORDER BY c.relname
    LOOP
        EXECUTE format('DROP TABLE %I', child.relname);
        RETURN NEXT child.relname;
    END LOOP;
END $$
