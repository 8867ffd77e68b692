//! The schema, as ordered migrations. `PRAGMA user_version` records how many
//! have run; opening a file applies the missing ones in one transaction.
//! Never edit a shipped step: append a new one.

use super::renewal_mark::{renewal_mark_applied, renewal_mark_none, renewal_mark_not_continuing};

pub const MIGRATIONS: &[&str] = &[
    // 1: the register. The renewal mark's values are named in
    // `renewal_mark`; `concat!` gives the text this step always had.
    concat!(
        r#"
    CREATE TABLE company (
        id        INTEGER PRIMARY KEY,
        uscc      TEXT NOT NULL UNIQUE,
        name      TEXT NOT NULL,
        address   TEXT,
        legal_rep TEXT
    ) STRICT;

    CREATE TABLE company_email (
        company_id INTEGER NOT NULL REFERENCES company(id) ON DELETE CASCADE,
        email      TEXT NOT NULL,
        PRIMARY KEY (company_id, email)
    ) STRICT;

    CREATE TABLE licence (
        id         INTEGER PRIMARY KEY,
        number     TEXT NOT NULL UNIQUE,
        company_id INTEGER NOT NULL REFERENCES company(id),
        scope      TEXT NOT NULL CHECK (scope IN ('nationwide', 'provincial')),
        province   TEXT,
        items      TEXT NOT NULL,
        issued     TEXT NOT NULL,
        expires    TEXT NOT NULL CHECK (expires >= issued),
        ended_on   TEXT,
        end_reason TEXT,
        authority  TEXT NOT NULL,
        -- The last day the licence is valid: the rules' "licence end".
        last_day   TEXT NOT NULL GENERATED ALWAYS AS (
            CASE WHEN ended_on IS NOT NULL AND ended_on < expires THEN ended_on ELSE expires END
        ) STORED,
        -- Every annual report up to this business year is filed or not owed
        -- (9999: none owed any more). Kept by the store so that the licences
        -- owing a report are an index range, not a scan of the register.
        reported_through INTEGER NOT NULL,
        -- The renewal mark for the current expiry: 0 none, 1 applied for,
        -- 2 reported as not continuing. Kept by the store, for the indexes.
        renewal_mark INTEGER NOT NULL DEFAULT "#,
        renewal_mark_none!(),
        r#" CHECK (renewal_mark IN ("#,
        renewal_mark_none!(),
        r#", "#,
        renewal_mark_applied!(),
        r#", "#,
        renewal_mark_not_continuing!(),
        r#"))
    ) STRICT;
    -- Licences whose renewal is still open: the renewal candidates.
    CREATE INDEX licence_renewal_open ON licence(expires)
        WHERE ended_on IS NULL AND renewal_mark = "#,
        renewal_mark_none!(),
        r#";
    -- Licences whose numbers must be gone by their last day: ended, or not
    -- being renewed.
    CREATE INDEX licence_ending ON licence(last_day)
        WHERE ended_on IS NOT NULL OR renewal_mark <> "#,
        renewal_mark_applied!(),
        r#";
    -- Licences being renewed: their numbers matter only once expiry passes
    -- with no new date recorded.
    CREATE INDEX licence_renewing ON licence(expires)
        WHERE ended_on IS NULL AND renewal_mark = "#,
        renewal_mark_applied!(),
        r#";
    CREATE INDEX licence_reported_through ON licence(reported_through);
    CREATE INDEX licence_company ON licence(company_id);

    CREATE TABLE number (
        id           INTEGER PRIMARY KEY,
        number       TEXT NOT NULL,
        -- '' for 95 and 1010 numbers; the allocating province for 96 numbers.
        province     TEXT NOT NULL,
        licence_id   INTEGER NOT NULL REFERENCES licence(id),
        allocated    TEXT NOT NULL,
        activated_on TEXT,
        carrier      TEXT,
        direction    TEXT CHECK (direction IN ('inbound', 'outbound', 'both')),
        released_on  TEXT,
        UNIQUE (province, number)
    ) STRICT;
    CREATE INDEX number_licence ON number(licence_id);
    CREATE INDEX number_held ON number(licence_id) WHERE released_on IS NULL;
    CREATE INDEX number_awaiting_activation ON number(allocated, released_on)
        WHERE activated_on IS NULL;

    CREATE TABLE company_change (
        id         INTEGER PRIMARY KEY,
        licence_id INTEGER NOT NULL REFERENCES licence(id),
        kind       TEXT NOT NULL CHECK (kind IN ('name', 'address', 'legal-rep', 'shareholding', 'capital')),
        changed_on TEXT NOT NULL,
        filed_on   TEXT
    ) STRICT;
    CREATE INDEX change_unfiled ON company_change(changed_on) WHERE filed_on IS NULL;
    CREATE INDEX change_licence ON company_change(licence_id);

    -- Both mark tables are read per licence: clustered on the licence id.
    CREATE TABLE renewal (
        licence_id   INTEGER NOT NULL REFERENCES licence(id),
        -- The expiry date the submission was for: a renewed licence gets a
        -- new expiry, and with it a new renewal obligation.
        for_expires  TEXT NOT NULL,
        submitted_on TEXT NOT NULL,
        continuing   INTEGER NOT NULL CHECK (continuing IN (0, 1)),
        PRIMARY KEY (licence_id, for_expires)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE annual_report (
        licence_id  INTEGER NOT NULL REFERENCES licence(id),
        year        INTEGER NOT NULL,
        filed_on    TEXT NOT NULL,
        carried_out INTEGER NOT NULL CHECK (carried_out IN (0, 1)),
        PRIMARY KEY (licence_id, year)
    ) STRICT, WITHOUT ROWID;

    CREATE TABLE snooze (
        obligation TEXT PRIMARY KEY,
        until      TEXT NOT NULL,
        reason     TEXT NOT NULL
    ) STRICT;

    CREATE TABLE history (
        id      INTEGER PRIMARY KEY,
        at      TEXT NOT NULL,
        os_user TEXT NOT NULL,
        licence TEXT,
        action  TEXT NOT NULL,
        detail  TEXT NOT NULL
    ) STRICT;
    CREATE INDEX history_licence ON history(licence);
    CREATE TRIGGER history_no_update BEFORE UPDATE ON history
        BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
    CREATE TRIGGER history_no_delete BEFORE DELETE ON history
        BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
    "#
    ),
    // 2: the outbox of alerts, and per-company routes.
    r#"
    CREATE TABLE outbox (
        id              INTEGER PRIMARY KEY,
        -- The obligation key (or notice/… for a daemon notice), the stage in
        -- days relative to the due day, and the route: one alert each, ever.
        obligation      TEXT NOT NULL,
        stage           INTEGER NOT NULL,
        route           TEXT NOT NULL,
        kind            TEXT NOT NULL,
        licence         TEXT,
        number          TEXT,
        year            INTEGER,
        due             TEXT,
        nominal         TEXT NOT NULL,
        send_on         TEXT NOT NULL,
        severity        TEXT NOT NULL CHECK (severity IN ('info', 'warning', 'critical')),
        -- A notice's text as JSON {"zh": …, "en": …}; NULL for alerts, which
        -- are rebuilt from the register when sent.
        notice          TEXT,
        state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at TEXT NOT NULL,
        last_error      TEXT,
        created_at      TEXT NOT NULL,
        sent_at         TEXT,
        message_id      TEXT,
        UNIQUE (obligation, stage, route)
    ) STRICT;
    CREATE INDEX outbox_pending ON outbox(next_attempt_at) WHERE state = 'pending';
    CREATE INDEX outbox_state ON outbox(state, id);

    -- Routes (config names) a company's alerts also go to.
    CREATE TABLE company_route (
        company_id INTEGER NOT NULL REFERENCES company(id) ON DELETE CASCADE,
        route      TEXT NOT NULL,
        PRIMARY KEY (company_id, route)
    ) STRICT;
    "#,
    // 3: the person an agency calls at each client, and their phone.
    r#"
    ALTER TABLE company ADD COLUMN contact TEXT;
    ALTER TABLE company ADD COLUMN phone TEXT;
    "#,
    // 4: what the daemon did last, for `licwatch status` and /metrics from
    // any shell and after a restart. One row, rewritten in place.
    r#"
    CREATE TABLE service_status (
        id              INTEGER PRIMARY KEY CHECK (id = 1),
        -- When `serve` last started, with which config (a path, or
        -- 'embedded defaults') and routes (JSON array of names).
        started_at      TEXT,
        config          TEXT,
        routes          TEXT,
        -- The last tick: when it began, how long it took (ms), the day it
        -- planned for, what it found, and its error (NULL when it succeeded).
        tick_at         TEXT,
        tick_ms         INTEGER,
        tick_today      TEXT,
        tick_open       INTEGER,
        tick_alerts     INTEGER,
        tick_queued     INTEGER,
        tick_error      TEXT,
        last_ok_tick_at TEXT,
        next_tick_at    TEXT,
        -- The last `db backup` of this register.
        backup_at       TEXT,
        backup_path     TEXT,
        backup_bytes    INTEGER
    ) STRICT;
    INSERT INTO service_status (id) VALUES (1);
    "#,
    // 5: the web console: accounts, their sessions, and where each change
    // came from (the CLI or a web account and its address) with the
    // evidence given for it.
    r#"
    ALTER TABLE history ADD COLUMN source TEXT NOT NULL DEFAULT 'cli'
        CHECK (source IN ('cli', 'web'));
    ALTER TABLE history ADD COLUMN address TEXT;
    -- The receipt or case number from the authority's system, and a note.
    ALTER TABLE history ADD COLUMN receipt TEXT;
    ALTER TABLE history ADD COLUMN note TEXT;

    CREATE TABLE account (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL UNIQUE,
        role       TEXT NOT NULL CHECK (role IN ('viewer', 'editor', 'admin')),
        -- An argon2id hash in the PHC string format (salt and parameters in it).
        password   TEXT NOT NULL,
        created_at TEXT NOT NULL
    ) STRICT;

    CREATE TABLE web_session (
        -- SHA-256 of the cookie's random token: a copy of the register
        -- does not hand out live sessions.
        token_hash BLOB PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,
        -- The session's CSRF token, in every form it is shown.
        csrf       TEXT NOT NULL,
        created_at TEXT NOT NULL,
        expires_at TEXT NOT NULL,
        address    TEXT NOT NULL
    ) STRICT, WITHOUT ROWID;
    CREATE INDEX web_session_account ON web_session(account_id);
    "#,
    // 6: one index for renewals open and licences ending, instead of two
    // that each new licence went into, at a random place by date: in a
    // register of a million licences a cold page each, and an import's
    // cost a row grew with the register (issue 14). A licence not ended
    // ends on its expiry, so renewals open are a range of `last_day` too;
    // the mark and end day are in the key so that the queries' filters read
    // the index alone. `licence_renewing` stays: few licences are in it,
    // and its query would otherwise step over every licence past expiry.
    r#"
    DROP INDEX licence_renewal_open;
    DROP INDEX licence_ending;
    CREATE INDEX licence_last_day ON licence(last_day, renewal_mark, ended_on);
    "#,
];
