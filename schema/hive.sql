-- The Hive's own tables, in its store beside the incidents table of schema/immune.sql
-- (there host, agent_id and agent_seq are filled), as numbered migrations. A store records
-- what it has in hive_migrations (version INTEGER PRIMARY KEY, applied_ns INTEGER NOT NULL);
-- at start the Hive applies, in one transaction, schema/immune.sql (all IF NOT EXISTS, as
-- the agent does) and each migration above that, and refuses a store newer than it knows.
-- Migration 1 is the tables as they were before migrations were numbered (all IF NOT EXISTS,
-- so a store of that time upgrades).
-- The same text runs on SQLite (--db) and PostgreSQL (--store); hive/store_pg.c translates
-- it: INTEGER is BIGINT, INTEGER PRIMARY KEY an identity column, PRAGMAs are dropped.

-- migration 1

-- The fleet verdict set pushed to every agent. source: 'operator:<uid>', 'proposal:<id>:<agent>'
-- (approved by an operator) or 'policy:<k>-agents' (the same SHA-256 from k distinct agents).
CREATE TABLE IF NOT EXISTS fleet_verdicts (
    kind        TEXT    NOT NULL CHECK (kind IN ('exec', 'file', 'net')),
    target      TEXT    NOT NULL,
    action      TEXT    NOT NULL CHECK (action IN ('deny', 'allow')),
    source      TEXT    NOT NULL,
    created_ns  INTEGER NOT NULL,
    PRIMARY KEY (kind, target)
);

-- verdict_version: bumped at every change of fleet_verdicts.
CREATE TABLE IF NOT EXISTS fleet_meta (
    key         TEXT    PRIMARY KEY,
    value       INTEGER NOT NULL
);

-- IOC sets pushed with `immunectl ioc-push NAME FILE`, replaced whole by name.
CREATE TABLE IF NOT EXISTS fleet_iocs (
    name        TEXT    PRIMARY KEY,
    version     INTEGER NOT NULL,
    text        TEXT    NOT NULL,
    created_ns  INTEGER NOT NULL       -- strictly increasing: agents are sent the sets newer than what they have
);

-- What agents asked the fleet to block: a proposal until an operator or the policy decides.
-- One row per (agent, kind, target): an agent cannot queue the same proposal twice.
CREATE TABLE IF NOT EXISTS fleet_proposals (
    id          INTEGER PRIMARY KEY,
    agent_id    TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('exec', 'file', 'net')),
    target      TEXT    NOT NULL,
    sha256      TEXT,                  -- exec, file: the content the agent saw, 64 hex digits
    source      TEXT    NOT NULL,      -- what made the agent block: 'rule:<id>', 'operator:<uid>', ...
    created_ns  INTEGER NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'approved', 'rejected')),
    decided_by  TEXT,                  -- 'operator:<uid>' or 'policy:<k>-agents'
    decided_ns  INTEGER,
    reason      TEXT,                  -- why it was rejected or could not be applied
    UNIQUE (agent_id, kind, target)
);

-- Agents refused at hello whatever their certificate (`immunectl agent revoke ID`).
CREATE TABLE IF NOT EXISTS fleet_revoked (
    agent_id    TEXT    PRIMARY KEY,
    revoked_ns  INTEGER NOT NULL,
    revoked_by  TEXT    NOT NULL
);

-- migration 2: several Hive instances on one database.
-- Which Hive instance (--instance) stored the incident; NULL before this migration.
ALTER TABLE incidents ADD COLUMN stored_by TEXT;

-- Every agent the fleet has seen: the instance it is (or was last) connected to and its link.
-- An instance refreshes last_seen_ns of its connected agents every 10 s and marks them
-- disconnected when the link ends or when it starts again (after a crash).
CREATE TABLE fleet_agents (
    agent_id     TEXT    PRIMARY KEY,
    host         TEXT    NOT NULL,
    instance     TEXT    NOT NULL,      -- '' for agents known only from incidents stored before
    link         TEXT    NOT NULL CHECK (link IN ('connected', 'disconnected')),
    since_ns     INTEGER NOT NULL,      -- when the link began, or ended
    last_seen_ns INTEGER NOT NULL
);
INSERT INTO fleet_agents (agent_id, host, instance, link, since_ns, last_seen_ns)
    SELECT agent_id, max(host), '', 'disconnected', max(time_ns), max(time_ns) FROM incidents
    WHERE agent_id IS NOT NULL GROUP BY agent_id;

-- Instances pushing IOC sets at once cannot give two sets the same place in the order.
CREATE UNIQUE INDEX fleet_iocs_created ON fleet_iocs (created_ns);
-- verdict_version is bumped in the database, by whichever instance changes the set.
INSERT INTO fleet_meta (key, value) VALUES ('verdict_version', 0) ON CONFLICT (key) DO NOTHING;
