/**
 * Spec of `config/exchange.yaml`. Validation, the editor schema (schemas/dxg-exchange.schema.json,
 * written by `npm run schemas`) and the docs all come from this one object.
 */
/** Ids name broker queues, key files and database identifiers: letters, digits, `_`, `-`, `.`. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9_.-]*$';
export const ID_MAX = 48;
/** A span of time as written in YAML: 500ms, 30s, 5m, 1h, 90d. */
export const DURATION_PATTERN = '^[0-9]+(ms|s|m|h|d)$';

export const exchangeSpec = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://dxg.gov.local/schemas/dxg-exchange.schema.json',
  title: 'dxg exchange configuration',
  description: 'The exchange: its broker, the departments with their databases, and where flows, indicator sets and keys live.',
  type: 'object',
  additionalProperties: false,
  required: ['exchange', 'broker', 'departments'],
  properties: {
    exchange: {
      type: 'string',
      pattern: ID_PATTERN,
      maxLength: ID_MAX,
      description: 'Name of the exchange; namespaces its broker exchanges and queues, so several exchanges can share one broker.',
    },
    broker: {
      type: 'object',
      description: 'The RabbitMQ every node of the exchange connects to.',
      additionalProperties: false,
      required: ['url'],
      properties: {
        url: {
          type: 'string',
          pattern: '^\\s*amqps?://[^\\s,]+(\\s*,\\s*amqps?://[^\\s,]+)*\\s*$',
          description: 'AMQP URL of RabbitMQ (3.10 or later) that nodes connect to; for a cluster, the URLs of its nodes separated by commas (e.g. amqp://h1:5672,amqp://h2:5672,amqp://h3:5672), along which a node fails over when the one it is connected to goes away. The URLs name one virtual host; a comma in a password is written %2C. Nodes replace the user and password of every URL by their department\'s own broker user (see departments.<id>.broker_password); the credentials written here are used by dxg init and the operator commands only.',
        },
        ca: {
          type: 'string',
          description: "With an amqps:// url (or an https:// admin): PEM file of the certificate authority that signed the broker's certificate (relative to this file). The certificate is always verified; without ca, against the system's authorities.",
        },
        admin: {
          type: 'string', pattern: '^https?://',
          description: "RabbitMQ's management API with an administrator's credentials, e.g. http://admin:pw@127.0.0.1:15672. Used by dxg init (and the centre) to create the department users and their permissions, never by a node. Default: port 15672 on the broker's host (of a list, the first URL's), with the credentials of url.",
        },
        prefetch: { type: 'integer', minimum: 1, maximum: 1000, default: 4, description: 'Unacknowledged messages a target node holds per flow.' },
        delivery_limit: {
          type: 'integer', minimum: 2, maximum: 1000, default: 50,
          description: 'Deliveries of one message (node crashes included) before the broker dead-letters it.',
        },
        message_max_bytes: {
          type: 'integer', minimum: 65536, default: 16777216,
          description: 'Largest message body a node publishes or accepts; bigger ones are split at the source and dead-lettered at the target.',
        },
        envelope_format: {
          type: 'integer', enum: [3, 4], default: 4,
          description: 'The newest envelope format nodes send records in. 4: each record a row under one list of indicators (a third smaller, read by dxg from this release on). 3: each record an object, as earlier releases send and read; set it while an upgrade is under way and some node still runs an earlier dxg, then remove it. Every node reads both.',
        },
      },
    },
    departments: {
      type: 'object',
      minProperties: 1,
      propertyNames: { pattern: ID_PATTERN, maxLength: ID_MAX },
      description: 'Departments by id; each has one exchange node beside its own database.',
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['database'],
        properties: {
          name: { type: 'string', description: 'Display name, e.g. 市场监督管理局.' },
          listen: {
            anyOf: [{ type: 'string', pattern: '^(off|\\S+:[0-9]{1,5})$' }, { enum: [false] }],
            description: "host:port where the department's node under dxg up serves Prometheus /metrics, /health and /ready (docs/metrics.md); off or false: none. Default: 127.0.0.1, port 7401 + the department's position in departments (the first 7401, the second 7402). Port 0 takes any free port (the log names it).",
          },
          broker_password: {
            type: 'string', minLength: 8,
            description: "Password of the department's own broker user <exchange>.<id> (write it as ${VAR}). Without it, dxg init generates one into <keys>/<id>.broker (mode 0600), which only this department's node needs.",
          },
          database: {
            type: 'object',
            description: "The department's own database: its source tables, its target tables and the gateway's dxg_ bookkeeping tables.",
            additionalProperties: false,
            required: ['driver', 'url'],
            properties: {
              driver: { enum: ['postgres', 'mysql', 'mssql'], description: 'postgres (pg), mysql (MySQL/MariaDB, mysql2) or mssql (SQL Server).' },
              url: { type: 'string', minLength: 1, description: 'Connection URL, e.g. postgres://user@host:5432/db, mysql://root@host:3306/db, mssql://sa:pw@host:1433/db.' },
              pool: { type: 'integer', minimum: 1, maximum: 100, default: 5, description: 'Connections the node keeps to this database.' },
            },
          },
        },
      },
    },
    centre: {
      type: 'object',
      additionalProperties: false,
      required: ['database'],
      description: 'The exchange centre (dxg centre, docs/centre.md): collects every department\'s ledger, watches the nodes, raises alarms and serves the HTTP API. Never on the data path: departments exchange while it is down.',
      properties: {
        url: { type: 'string', pattern: '^https?://', default: 'http://127.0.0.1:7400', description: 'Where the command line (dxg login, dxg status --centre, dxg audit --centre) reaches the centre.' },
        listen: { type: 'string', pattern: '^\\S+:[0-9]{1,5}$', default: '127.0.0.1:7400', description: 'host:port the centre serves its API, /metrics, /health and /ready on.' },
        database: {
          type: 'object',
          additionalProperties: false,
          required: ['driver', 'url'],
          description: "The centre's own PostgreSQL database: the collected ledgers, heartbeats, alarms, users and the centre's own journal.",
          properties: {
            driver: { enum: ['postgres'], description: 'postgres: the centre keeps its data in PostgreSQL.' },
            url: { type: 'string', minLength: 1, description: 'Connection URL, e.g. postgres://dxg_centre@127.0.0.1:5432/dxg_centre.' },
            pool: { type: 'integer', minimum: 1, maximum: 100, default: 5, description: 'Connections the centre keeps to its database.' },
          },
        },
        heartbeat: {
          type: 'string', pattern: DURATION_PATTERN, default: '30s',
          description: 'How often every node under dxg up sends the centre its heartbeat (version, flows, checkpoints, backlog, ledger head), e.g. 30s; at most 30s.',
        },
        tls: {
          type: 'object',
          additionalProperties: false,
          required: ['cert', 'key'],
          description: 'Serve https with this certificate (PEM files, relative to this file); centre.url is then https://…. The command line trusts a private authority through NODE_EXTRA_CA_CERTS.',
          properties: {
            cert: { type: 'string', description: "The centre's certificate (with its chain), PEM." },
            key: { type: 'string', description: "The certificate's private key, PEM (readable by the centre only)." },
          },
        },
        archive: {
          type: 'object',
          additionalProperties: false,
          required: ['after', 'dir'],
          description: 'Collected entries older than `after` leave the centre\'s database for signed archive files (one per department and run) that dxg audit verify --archive FILE checks offline. Without it, entries stay in the database.',
          properties: {
            after: { type: 'string', pattern: DURATION_PATTERN, description: 'Age at which a checked entry is archived, e.g. 90d.' },
            dir: { type: 'string', description: 'Folder of the archive files, relative to this file.' },
          },
        },
        approval: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'Applications for conditional resources (DESIGN §9): how long the provider has to answer, counted in working days.',
          properties: {
            answer_within: { type: 'integer', minimum: 1, maximum: 60, default: 10, description: 'Working days the provider\'s approver has to answer an application (the national rule for conditional sharing: 10).' },
            calendar: { type: 'string', description: 'YAML file (relative to this file) of the official calendar: `holidays:` (dates off that fall on weekdays) and `workdays:` (调休, weekend dates worked). Without it, Monday to Friday are working days.' },
            check_every: { type: 'string', pattern: DURATION_PATTERN, default: '30s', description: 'How often the centre checks grants for expiry and that the broker carries out every grant and revocation (revocations also take effect at once).' },
          },
        },
        alarms: {
          type: 'object',
          additionalProperties: false,
          default: {},
          description: 'When the centre raises an alarm: kept, shown in the API, logged, and POSTed as JSON {id, at, kind, department, flow, reason} to the webhook.',
          properties: {
            silent_after: { type: 'string', pattern: DURATION_PATTERN, default: '60s', description: 'A node whose heartbeat has not come for this long is silent (e.g. 60s, 5m).' },
            lag_over: { type: 'string', pattern: DURATION_PATTERN, default: '5m', description: 'A flow target whose p95 lag, from publish at the source to apply at the target, is over this.' },
            webhook: { type: 'string', pattern: '^(https?://\\S+)?$', description: 'http(s) URL that every alarm is POSTed to as JSON; empty: none. An alarm the webhook did not take (unreachable, or an answer other than 2xx) is POSTed again, for a day; the receiver tells repeats by the id.' },
            webhook_retry: { type: 'string', pattern: DURATION_PATTERN, default: '30s', description: 'The first wait before an alarm the webhook did not take is POSTed again; each further wait is twice the one before, at most 10 minutes.' },
          },
        },
      },
    },
    flows: { type: 'string', default: '../flows', description: 'Folder of flow files, relative to this file.' },
    catalog: {
      type: 'string',
      description: 'Folder of the resource catalog (信息资源目录): one YAML file per resource (docs/catalog.md), relative to this file. With it, every flow must move a resource of the catalog, from its provider, and only indicators its entry lists. Without it, flows are not checked against a catalog.',
    },
    schemas: { type: 'string', default: '../schemas', description: 'Folder of indicator sets (<resource>.json), relative to this file.' },
    keys: { type: 'string', default: '../var/keys', description: 'Folder of department Ed25519 key pairs, relative to this file.' },
  },
} as const;
