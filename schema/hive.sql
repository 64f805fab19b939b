-- The Hive's own tables, in its database beside the incidents table of schema/immune.sql
-- (there host, agent_id and agent_seq are filled). Applied with CREATE ... IF NOT EXISTS at every start.

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
