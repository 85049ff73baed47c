-- Kiosk enrolment by QR: the organizer prints a one-time code for a device; the kiosk that
-- scans it gets the device's token. Only the code's SHA-256 is kept: a copy of this table
-- enrols nothing. A code is spent once (used_at) and is worthless after expires_at.
CREATE TABLE enrolments (
    code_hash   text PRIMARY KEY,
    fair_id     uuid NOT NULL,
    device_id   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    FOREIGN KEY (fair_id, device_id) REFERENCES devices (fair_id, id) ON DELETE CASCADE
);
CREATE INDEX enrolments_device_idx ON enrolments (fair_id, device_id);

-- What each kiosk last reported about itself: scans waiting in its queue, and when it said so.
ALTER TABLE devices
    ADD COLUMN queued     integer,
    ADD COLUMN beat_at    timestamptz,
    ADD COLUMN enrolled_at timestamptz;
