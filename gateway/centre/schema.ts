import type { Database } from '../../adapters/adapter';
import { sql } from '../../adapters/sql';

/**
 * The centre's own database (PostgreSQL). `centre_ledger` is every department's ledger as collected
 * (one row per department and sequence, exactly as the department wrote it); `centre_record_keys`
 * indexes it by record key, so one record's trail is an index lookup, not a scan of every entry.
 * Statements are idempotent: the centre runs them at every start.
 */
const TABLES = [
  `CREATE TABLE IF NOT EXISTS centre_ledger (
    department text NOT NULL, seq bigint NOT NULL, at text NOT NULL, kind text NOT NULL, flow text, message_id text,
    from_dept text, to_dept text, record_count integer NOT NULL, digest text, record_keys text, detail text, algorithm text,
    prev_hash text NOT NULL, hash text NOT NULL, signature text NOT NULL, received_at timestamptz NOT NULL DEFAULT now(),
    id bigserial NOT NULL UNIQUE, PRIMARY KEY (department, seq))`,
  'CREATE INDEX IF NOT EXISTS centre_ledger_at ON centre_ledger (at)',
  'CREATE INDEX IF NOT EXISTS centre_ledger_flow ON centre_ledger (flow, at)',
  'CREATE INDEX IF NOT EXISTS centre_ledger_message ON centre_ledger (message_id)',
  `CREATE TABLE IF NOT EXISTS centre_record_keys (record_key text NOT NULL, department text NOT NULL, seq bigint NOT NULL,
    PRIMARY KEY (record_key, department, seq))`,
  // by entry: a declared restore and the archiver delete a department's keys from an entry on, which the primary key cannot find
  'CREATE INDEX IF NOT EXISTS centre_record_keys_entry ON centre_record_keys (department, seq)',
  // per department: how far the copy is complete and checked, what the node said of itself
  `CREATE TABLE IF NOT EXISTS centre_departments (
    department text PRIMARY KEY, contiguous bigint NOT NULL DEFAULT 0, contiguous_hash text NOT NULL DEFAULT '${'0'.repeat(64)}',
    broken_seq bigint, broken_reason text, broken_at timestamptz,
    head_seq bigint, head_hash text, heartbeat jsonb, heartbeat_at timestamptz, asked_at timestamptz)`,
  // the heads the centre collected and countersigned (the anchors of DESIGN §7)
  `CREATE TABLE IF NOT EXISTS centre_heads (department text NOT NULL, seq bigint NOT NULL, hash text NOT NULL, at text NOT NULL,
    signature text NOT NULL, PRIMARY KEY (department, seq))`,
  `CREATE TABLE IF NOT EXISTS centre_alarms (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), kind text NOT NULL,
    department text, flow text, reason text NOT NULL, subject text NOT NULL, cleared_at timestamptz)`,
  'CREATE UNIQUE INDEX IF NOT EXISTS centre_alarms_open ON centre_alarms (subject) WHERE cleared_at IS NULL',
  // an alarm the webhook has not taken yet, and when to POST it again (alarms of an older centre count as taken)
  'ALTER TABLE centre_alarms ADD COLUMN IF NOT EXISTS webhook_pending boolean NOT NULL DEFAULT false',
  'ALTER TABLE centre_alarms ADD COLUMN IF NOT EXISTS webhook_attempts integer NOT NULL DEFAULT 0',
  'ALTER TABLE centre_alarms ADD COLUMN IF NOT EXISTS webhook_next_at timestamptz',
  'CREATE INDEX IF NOT EXISTS centre_alarms_webhook ON centre_alarms (id) WHERE webhook_pending',
  `CREATE TABLE IF NOT EXISTS centre_users (name text PRIMARY KEY, role text NOT NULL, department text, password text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now())`,
  `CREATE TABLE IF NOT EXISTS centre_tokens (token_hash text PRIMARY KEY, name text NOT NULL REFERENCES centre_users (name) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL)`,
  // the key registry: every department key with its validity; `change` orders the versions of the key list
  'CREATE SEQUENCE IF NOT EXISTS centre_key_changes',
  `CREATE TABLE IF NOT EXISTS centre_keys (department text NOT NULL, id text NOT NULL, public_key text NOT NULL, valid_from text NOT NULL,
    valid_until text, revoked_at text, revoked_reason text, change bigint NOT NULL, PRIMARY KEY (department, id))`,
  `CREATE TABLE IF NOT EXISTS centre_archives (department text NOT NULL, from_seq bigint NOT NULL, to_seq bigint NOT NULL, file text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (department, from_seq))`,
  // the nodes' answers to the centre's questions (verify, quarantine, replay), kept until read
  `CREATE TABLE IF NOT EXISTS centre_answers (request text NOT NULL, department text NOT NULL, body jsonb, at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (request, department))`,
  // the centre's own hash-chained journal: every decision, and every look at record keys or personal data
  `CREATE TABLE IF NOT EXISTS centre_journal (seq bigint PRIMARY KEY, at text NOT NULL, actor text NOT NULL, action text NOT NULL,
    subject text, reason text, prev_hash text NOT NULL, hash text NOT NULL, signature text NOT NULL)`,
  // a look at one record names its key masked; this keyed digest of the whole key finds every look at it
  'ALTER TABLE centre_journal ADD COLUMN IF NOT EXISTS record_key_digest text',
  'CREATE INDEX IF NOT EXISTS centre_journal_record_key ON centre_journal (record_key_digest) WHERE record_key_digest IS NOT NULL',
  // the resource catalog as last published (dxg catalog publish, the centre's start)
  `CREATE TABLE IF NOT EXISTS centre_catalog (resource text PRIMARY KEY, code text NOT NULL, provider text NOT NULL, sharing text NOT NULL,
    entry jsonb NOT NULL, published_at timestamptz NOT NULL DEFAULT now(), published_by text NOT NULL)`,
  // applications (申请) and, once approved, the grants they are; `changed` orders the versions of the grant list
  'CREATE SEQUENCE IF NOT EXISTS centre_application_ids',
  `CREATE TABLE IF NOT EXISTS centre_applications (id text PRIMARY KEY, resource text NOT NULL, provider text NOT NULL, department text NOT NULL,
    items jsonb NOT NULL, purpose text NOT NULL, basis text NOT NULL, days integer, on_end text NOT NULL, state text NOT NULL, applicant text NOT NULL,
    submitted_at timestamptz NOT NULL DEFAULT now(), due_date text NOT NULL, decided_at timestamptz, decided_by text, reason text,
    valid_until timestamptz, ended_at timestamptz, ended_by text, end_reason text, changed bigint NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS centre_applications_state ON centre_applications (state, department)',
];

export async function createCentreSchema(db: Database): Promise<void> {
  for (const statement of TABLES) await db.execute(sql`${sql.raw(statement)}`);
}
