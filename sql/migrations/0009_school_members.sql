-- The schools of an alliance's fairs link to the alliance's school members (school, technical
-- school, vocational school), so a school member's figures add up across the fairs. Linked by
-- name when the school is created or its fair joins the alliance, or by hand.
ALTER TABLE schools ADD COLUMN member_id text;
-- The fairs of an alliance: looked up for every batch of its events and for its figures.
CREATE INDEX fairs_alliance_idx ON fairs (alliance_id) WHERE alliance_id IS NOT NULL;
