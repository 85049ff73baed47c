-- One statement per batch: insert the events, and change counters only for the rows that
-- were really inserted. A resent or redelivered event conflicts and adds nothing.
-- Dimensions: the fair, employer, position, live session, the seeker's school (from the
-- registry), the minute it happened, the outcome (a scan's verdict, a résumé's channel), and
-- for live events the session's employer, the position pinned when it happened ("during the
-- pin"), and, when the event names that very position, "for the pinned position".
WITH batch AS (
    SELECT DISTINCT ON (fair_id, id) *
    FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[],
                $7::text[], $8::text[], $9::text[], $10::jsonb[], $11::text[], $12::text[],
                $13::text[])
        WITH ORDINALITY AS b (fair_id, id, type, occurred_at, metric, subject,
                              employer_id, position_id, session_id, payload, stream_id,
                              seeker_id, outcome, n)
    ORDER BY fair_id, id, n
),
inserted AS (
    INSERT INTO events (fair_id, id, type, occurred_at, metric, subject,
                        employer_id, position_id, session_id, payload, stream_id,
                        seeker_id, outcome)
    SELECT fair_id, id, type, occurred_at, metric, subject,
           employer_id, position_id, session_id, payload, stream_id, seeker_id, outcome
    FROM batch
    ORDER BY fair_id, id
    ON CONFLICT (fair_id, id) DO NOTHING
    RETURNING fair_id, id, type, metric, subject, employer_id, position_id, session_id,
              occurred_at, seeker_id, outcome,
              CASE WHEN type = 'consultation' THEN payload END AS payload
),
-- The position on show when a live event happened: the pin in force at its occurred_at, so a
-- late upload lands on the position that was pinned then, not now.
pinned AS (
    SELECT i.fair_id, i.id, p.position_id AS pinned_id
    FROM inserted AS i
    JOIN LATERAL (
        SELECT lp.position_id
        FROM live_pins AS lp
        WHERE lp.fair_id = i.fair_id AND lp.session_id = i.session_id
          AND lp.pinned_at <= i.occurred_at
          AND (lp.unpinned_at IS NULL OR lp.unpinned_at > i.occurred_at)
        ORDER BY lp.pinned_at DESC
        LIMIT 1
    ) AS p ON true
    WHERE i.session_id IS NOT NULL
),
-- A question asked during a stream goes into the host's queue, with the employer and position
-- the viewer chose and, beside them, what was pinned when it was asked.
new_questions AS (
    INSERT INTO live_questions (fair_id, id, session_id, employer_id, position_id,
                                pinned_position_id, viewer_id, seeker_id, question, asked_at)
    SELECT i.fair_id, i.id, i.session_id, i.employer_id, i.position_id, p.pinned_id,
           i.payload ->> 'viewer_id', i.seeker_id, i.payload ->> 'topic', i.occurred_at
    FROM inserted AS i
    LEFT JOIN pinned AS p ON p.fair_id = i.fair_id AND p.id = i.id
    WHERE i.type = 'consultation' AND i.session_id IS NOT NULL
    ON CONFLICT DO NOTHING
),
-- A booth scan uploaded as an event is a lead too (the leads API creates most of them first).
new_leads AS (
    INSERT INTO leads (fair_id, employer_id, seeker_id, first_event_id, created_at, updated_at)
    SELECT DISTINCT ON (fair_id, employer_id, seeker_id)
           fair_id, employer_id, seeker_id, id, occurred_at, occurred_at
    FROM inserted
    WHERE type = 'booth_visit' AND seeker_id IS NOT NULL
    ORDER BY fair_id, employer_id, seeker_id, occurred_at
    ON CONFLICT DO NOTHING
),
facts AS (
    SELECT i.fair_id, i.metric, d.dim, d.dim_id,
           md5(concat_ws('|', i.fair_id, i.metric, d.dim, d.dim_id, i.subject))::uuid AS unique_key,
           i.subject IS NOT NULL AS has_subject
    FROM inserted AS i
    LEFT JOIN seekers AS s ON s.fair_id = i.fair_id AND s.id = i.seeker_id
    LEFT JOIN pinned AS p ON p.fair_id = i.fair_id AND p.id = i.id
    CROSS JOIN LATERAL (VALUES
        ('fair', ''),
        ('employer', i.employer_id),
        ('position', i.position_id),
        ('session', i.session_id),
        ('school', s.school_id),
        ('outcome', i.outcome),
        ('session_employer', i.session_id || '|' || i.employer_id),
        ('session_pin', i.session_id || '|' || p.pinned_id),
        ('session_pin_chosen', CASE WHEN i.position_id = p.pinned_id
                                    THEN i.session_id || '|' || p.pinned_id END),
        ('minute', to_char(date_trunc('minute', i.occurred_at AT TIME ZONE 'UTC'),
                           'YYYY-MM-DD"T"HH24:MI:00"Z"'))
    ) AS d (dim, dim_id)
    WHERE i.metric IS NOT NULL AND d.dim_id IS NOT NULL
),
new_uniques AS (
    INSERT INTO uniques (key, fair_id)
    SELECT DISTINCT unique_key, fair_id
    FROM facts
    WHERE has_subject
    ORDER BY unique_key
    ON CONFLICT DO NOTHING
    RETURNING key
),
first_seen AS (
    SELECT DISTINCT ON (f.unique_key) f.fair_id, f.metric, f.dim, f.dim_id
    FROM facts AS f
    JOIN new_uniques AS u ON u.key = f.unique_key
),
deltas AS (
    SELECT fair_id, metric, dim, dim_id, sum(total)::bigint AS total, sum(uniq)::bigint AS uniq
    FROM (
        SELECT fair_id, metric, dim, dim_id, 1 AS total, 0 AS uniq FROM facts
        UNION ALL
        SELECT fair_id, metric, dim, dim_id, 0, 1 FROM first_seen
    ) AS x
    GROUP BY fair_id, metric, dim, dim_id
),
changed AS (
    INSERT INTO counters AS c (fair_id, metric, dim, dim_id, total, uniq)
    SELECT fair_id, metric, dim, dim_id, total, uniq
    FROM deltas
    ORDER BY fair_id, metric, dim, dim_id
    ON CONFLICT (fair_id, metric, dim, dim_id) DO UPDATE
        SET total = c.total + excluded.total, uniq = c.uniq + excluded.uniq
    RETURNING fair_id, metric, dim, total, uniq
)
-- Only the fair-level totals go back: the worker announces those, and a batch changes
-- over a thousand counters.
SELECT fair_id, metric, dim, total, uniq FROM changed WHERE dim = 'fair'
