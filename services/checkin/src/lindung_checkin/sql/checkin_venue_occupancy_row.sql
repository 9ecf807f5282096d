CREATE OR REPLACE FUNCTION checkin_venue_occupancy_row() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO venue_occupancy (venue_id) VALUES (NEW.venue_id) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$
