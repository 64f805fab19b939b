-- IMMUNE's SQLite schema: one file for the agent and the Hive.
-- Applied with CREATE ... IF NOT EXISTS at every start; user_version says the revision.
PRAGMA journal_mode = WAL;
PRAGMA user_version = 1;

-- Operator and rule verdicts, re-applied to the pinned BPF maps at start.
CREATE TABLE IF NOT EXISTS verdicts (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL CHECK (kind IN ('exec', 'file', 'net')),
    target      TEXT    NOT NULL,      -- path as given, or ADDR[/PREFIX][:PORT]
    dev         INTEGER,               -- exec/file: device of the inode the verdict keys on
    ino         INTEGER,               -- exec/file: inode
    action      TEXT    NOT NULL CHECK (action IN ('deny', 'allow')),
    source      TEXT    NOT NULL,      -- 'operator:<uid>', 'rule:<id>', 'hive', 'ioc:<file>'
    created_ns  INTEGER NOT NULL,      -- UNIX epoch ns
    UNIQUE (kind, target)
);

-- One row per rule or IOC match. hive_acked (agent side): 0 until the Hive acknowledged it, 1 then,
-- 2 when the Hive refused it (the reason is in hive_dead_letters).
-- The columns from time_ns to doc are one list in the code (INCIDENT_COLUMN_LIST, daemon/incident.h),
-- shared with signals below; a test compares both tables with this file.
CREATE TABLE IF NOT EXISTS incidents (
    -- the agent's sequence number for the Hive
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    -- Hive side: which agent sent it
    agent_id TEXT,
    -- Hive side: the agent's id for the row
    agent_seq INTEGER,
    -- UNIX epoch ns of the event
    time_ns INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    rule_level TEXT,
    -- JSON array
    rule_tags TEXT,
    rule_author TEXT,
    -- exec, open, connect
    event_kind TEXT NOT NULL,
    pid INTEGER,
    ppid INTEGER,
    uid INTEGER,
    executable TEXT,
    command_line TEXT,
    parent_executable TEXT,
    -- file path or destination
    target TEXT,
    -- alert, block, kill (a signal: always alert, never enforced)
    action TEXT NOT NULL,
    -- what was done: 'alerted', 'denied', 'killed' (a signal: 'signal')
    verdict TEXT,
    -- the incident (or signal) as one ECS JSON object
    doc TEXT NOT NULL,
    hive_acked INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS incidents_time ON incidents (time_ns);
CREATE INDEX IF NOT EXISTS incidents_rule ON incidents (rule_id);
CREATE INDEX IF NOT EXISTS incidents_exe  ON incidents (executable);
CREATE INDEX IF NOT EXISTS incidents_unacked ON incidents (hive_acked) WHERE hive_acked = 0;
CREATE UNIQUE INDEX IF NOT EXISTS incidents_agent_seq ON incidents (agent_id, agent_seq) WHERE agent_id IS NOT NULL;

-- Matches of rules below --min-level (and of the threat-hunting folder): stored and counted, never alerts.
-- An incident's columns without the Hive's (a signal never leaves the agent).
CREATE TABLE IF NOT EXISTS signals (
    id INTEGER PRIMARY KEY,
    host TEXT NOT NULL,
    -- UNIX epoch ns of the event
    time_ns INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    rule_title TEXT NOT NULL,
    rule_level TEXT,
    -- JSON array
    rule_tags TEXT,
    rule_author TEXT,
    -- exec, open, connect
    event_kind TEXT NOT NULL,
    pid INTEGER,
    ppid INTEGER,
    uid INTEGER,
    executable TEXT,
    command_line TEXT,
    parent_executable TEXT,
    -- file path or destination
    target TEXT,
    -- alert, block, kill (a signal: always alert, never enforced)
    action TEXT NOT NULL,
    -- what was done: 'alerted', 'denied', 'killed' (a signal: 'signal')
    verdict TEXT,
    -- the incident (or signal) as one ECS JSON object
    doc TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS signals_time ON signals (time_ns);
CREATE INDEX IF NOT EXISTS signals_rule ON signals (rule_id);

-- Live suppressions (`immunectl suppress`), re-applied at start while unexpired.
CREATE TABLE IF NOT EXISTS suppressions (
    id            INTEGER PRIMARY KEY,
    rule_id       TEXT    NOT NULL,
    exe           TEXT,                 -- Image equals
    parent        TEXT,                 -- ParentImage equals
    cmdline_contains TEXT,              -- CommandLine contains
    expires_ns    INTEGER NOT NULL DEFAULT 0, -- UNIX epoch ns; 0 = never
    created_ns    INTEGER NOT NULL,
    created_by    TEXT    NOT NULL      -- 'operator:<uid>'
);

-- Agent side: incidents the Hive refused with a nack, kept out of the queue with its reason.
CREATE TABLE IF NOT EXISTS hive_dead_letters (
    incident_id INTEGER PRIMARY KEY,  -- incidents.id, the seq the Hive refused
    reason      TEXT    NOT NULL,     -- the Hive's nack
    refused_ns  INTEGER NOT NULL
);
