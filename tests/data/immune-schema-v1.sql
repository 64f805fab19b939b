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
CREATE TABLE IF NOT EXISTS incidents (
    id            INTEGER PRIMARY KEY,  -- the agent's sequence number for the Hive
    host          TEXT    NOT NULL,
    agent_id      TEXT,                 -- Hive side: which agent sent it
    agent_seq     INTEGER,              -- Hive side: the agent's id for the row
    time_ns       INTEGER NOT NULL,     -- UNIX epoch ns of the event
    rule_id       TEXT    NOT NULL,
    rule_title    TEXT    NOT NULL,
    rule_level    TEXT,
    rule_tags     TEXT,                 -- JSON array
    rule_author   TEXT,
    event_kind    TEXT    NOT NULL,     -- exec, open, connect
    pid           INTEGER,
    ppid          INTEGER,
    uid           INTEGER,
    executable    TEXT,
    command_line  TEXT,
    parent_executable TEXT,
    target        TEXT,                 -- file path or destination
    action        TEXT    NOT NULL,     -- alert, block, kill
    verdict       TEXT,                 -- what was done: 'alerted', 'denied', 'killed'
    doc           TEXT    NOT NULL,     -- the incident as one ECS JSON object
    hive_acked    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS incidents_time ON incidents (time_ns);
CREATE INDEX IF NOT EXISTS incidents_rule ON incidents (rule_id);
CREATE INDEX IF NOT EXISTS incidents_exe  ON incidents (executable);
CREATE INDEX IF NOT EXISTS incidents_unacked ON incidents (hive_acked) WHERE hive_acked = 0;
CREATE UNIQUE INDEX IF NOT EXISTS incidents_agent_seq ON incidents (agent_id, agent_seq) WHERE agent_id IS NOT NULL;

-- Matches of rules below --min-level (and of the threat-hunting folder): stored and counted, never alerts.
CREATE TABLE IF NOT EXISTS signals (
    id            INTEGER PRIMARY KEY,
    host          TEXT    NOT NULL,
    time_ns       INTEGER NOT NULL,     -- UNIX epoch ns of the event
    rule_id       TEXT    NOT NULL,
    rule_title    TEXT    NOT NULL,
    rule_level    TEXT,
    rule_tags     TEXT,                 -- JSON array
    rule_author   TEXT,
    event_kind    TEXT    NOT NULL,     -- exec, open, connect
    pid           INTEGER,
    ppid          INTEGER,
    uid           INTEGER,
    executable    TEXT,
    command_line  TEXT,
    parent_executable TEXT,
    target        TEXT,                 -- file path or destination
    action        TEXT    NOT NULL,     -- always alert: signals are never enforced
    verdict       TEXT,                 -- 'signal'
    doc           TEXT    NOT NULL      -- the signal as one ECS JSON object
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
