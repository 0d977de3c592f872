import type { SourceDocument } from './document';

export interface DatabaseConfig {
  driver: string;
  url: string;
  pool: number;
}

export interface Department {
  id: string;
  name: string;
  database: DatabaseConfig;
  /** the password of its broker user, when the config gives it (else it lives in <keys>/<id>.broker) */
  brokerPassword?: string;
  /** where its node serves /metrics, /health and /ready; null: nowhere */
  listen: ListenAddress | null;
}

export interface ListenAddress {
  host: string;
  port: number;
}

export interface BrokerConfig {
  url: string;
  /** the management API, with an administrator's credentials */
  admin: string;
  /** PEM file of the authority that signed the broker's TLS certificate */
  ca?: string;
  prefetch: number;
  deliveryLimit: number;
  messageMaxBytes: number;
  /** the newest envelope format nodes send records in (3 while nodes of an older dxg still receive) */
  envelopeFormat: number;
}

export interface CentreConfig {
  url: string;
  listen: ListenAddress;
  database: DatabaseConfig;
  heartbeatMs: number;
  alarms: { silentAfterMs: number; lagOverMs: number; webhook: string | null; webhookRetryMs: number };
  /** collected entries older than `afterMs` go to signed files in `dir` */
  archive: { afterMs: number; dir: string } | null;
  /** PEM files: serve https */
  tls: { cert: string; key: string } | null;
  /** applications: answer within so many working days of the calendar file (null: Monday to Friday); grants checked every `checkMs` */
  approval: { answerWithin: number; calendar: string | null; checkMs: number };
}

export interface ExchangeConfig {
  file: string;
  doc: SourceDocument;
  exchange: string;
  broker: BrokerConfig;
  departments: Map<string, Department>;
  /** the exchange centre, when the configuration names one */
  centre: CentreConfig | null;
  dirs: { flows: string; schemas: string; keys: string; catalog: string | null };
}

export type WhereCondition = string | number | boolean | null | { [operator: string]: unknown };

export interface FlowSource {
  department: string;
  table?: string;
  query?: string;
  key: string[];
  watermark: string;
  schedule: string;
  /** indicator → source column */
  fields: Record<string, string>;
  pageSize: number;
  batchSize: number;
  /** indicator whose true value marks a record deleted */
  softDelete?: string;
  /** cron of the key reconciliation that finds hard deletes */
  reconcile?: string;
  /** wake the node on every write (a trigger the engine supports), not only on schedule */
  notify: boolean;
}

export interface FlowTarget {
  /** position in the flow's `targets`, for locating it in the YAML */
  index: number;
  department: string;
  table: string;
  mode: 'upsert' | 'insert';
  onDelete: 'delete' | 'flag';
  /** indicator → target column */
  fields: Record<string, string>;
  where: Record<string, WhereCondition>;
  codes: Record<string, Record<string, string | number | boolean>>;
}

export interface Flow {
  id: string;
  title: string;
  resource: string;
  doc: SourceDocument;
  source: FlowSource;
  targets: FlowTarget[];
}
