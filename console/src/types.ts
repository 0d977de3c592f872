/** The JSON the centre's API answers with (its OpenAPI document at /api/openapi.json), as far as the console reads it. */

export interface Counts {
  extracted: number; quarantined: number; filtered: number; withheld: number; published: number;
  applied: number; rejected: number; awaitingReceipt: number; problems: string[];
  /** sent again by a replay: at the source (its quarantine), at the target (its rejects) */
  replayedAtSource: number; replayedAtTarget: number;
}

export interface Target {
  flow: string; source: string; target: string;
  counts: Counts | null;
  reconciled: boolean | null;
  lag: { p50: number; p95: number; envelopes: number } | null;
  recordsPerSecond: number;
  backlog: { outbox: number | null; queued: number | null; awaitingReceipt: number | null };
}

export interface Alarm { id: string; at: string; kind: string; department: string | null; flow: string | null; reason: string; clearedAt: string | null }

export interface LagSeries { flow: string; target: string; points: { at: string; p50: number; p95: number; records: number }[] }

export interface Flow {
  id: string; title: string; resource: string; source: { department: string; schedule: string };
  /** cover: the grant a target receives under, or why none covers it; null when nothing is governed (no catalog) */
  targets: { department: string; table: string; mode: string; indicators: string[]; cover: { ok: true; grant: string | null } | { ok: false; problem: string } | null }[]; yaml: string;
}

export interface TrailEntry {
  at: string; ledger: string; seq: number; kind: string; flow: string | null; messageId: string | null;
  from: string | null; to: string | null; count: number; digest: string | null; keys: string[]; detail: Record<string, unknown> | null; hash: string | null;
}

export interface Verdict {
  intact: boolean;
  departments: { department: string; intact: boolean; answered: boolean; collected: string; problems: string[]; head: { seq: string } | null; countersigned: { seq: string; at: string } | null }[];
}

export interface Application {
  id: string; resource: string; provider: string; department: string; items: string[]; purpose: string; basis: string;
  days: number | null; onEnd: 'keep' | 'purge'; state: 'submitted' | 'approved' | 'rejected' | 'revoked' | 'expired';
  applicant: string; submittedAt: string; dueDate: string; workingDaysLeft: number | null; overdue: boolean;
  decidedAt: string | null; decidedBy: string | null; reason: string | null; validUntil: string | null;
  endedAt: string | null; endedBy: string | null; endReason: string | null;
}

export interface CatalogEntry {
  resource: string; code: string; title: string; provider: string; abstract: string;
  classification: { class: string; item: string; subitem?: string }; themes: string[]; format: string;
  items: { name: string; title: string; type: string; sensitive: boolean }[];
  sharing: { type: 'unconditional' | 'conditional' | 'none'; condition?: string; basis?: string };
  method: string; open: string; updateCycle: string; published: string; related: string[];
}

export interface NodeView {
  department: string; name: string; version: string | null; heartbeatAt: string | null; silent: boolean; head: { seq: string; hash: string } | null;
  collected: string; broken: { seq: string; reason: string } | null; sends: string[]; receives: string[];
  checkpoints: { flow: string; updatedAt: string | null; behind: number | null }[];
}

export interface QuarantineItem {
  department: string; id: number; at: string; stage: string; flow: string | null; from_dept: string | null; to_dept: string | null;
  message_id: string | null; record_key: string | null; reason: string; record: unknown; status: string;
}
