import { ID_MAX, ID_PATTERN } from './exchange.spec';

/**
 * A bulk load's page and message: 2,000 rows each halve the statements and commits per record of
 * 1,000 (PostgreSQL's CPU 10–20 % less, npm run bench) for some 10–20 MiB more at a node's peak.
 */
export const PAGE_SIZE = 2000;
export const BATCH_SIZE = 2000;

/**
 * Spec of one exchange flow file in `flows/`. Validation, the editor schema
 * (schemas/dxg-flow.schema.json, written by `npm run schemas`) and the docs all come from here.
 */
const fieldMap = (what: string) => ({
  type: 'object',
  minProperties: 1,
  additionalProperties: { type: 'string', minLength: 1 },
  description: `indicator: ${what} column. Only the indicators listed here are read or written.`,
});

const scalar = { type: ['string', 'number', 'boolean'] };
const operators = {
  in: { type: 'array', items: scalar, minItems: 1 },
  not_in: { type: 'array', items: scalar, minItems: 1 },
  ne: scalar,
  gt: scalar,
  gte: scalar,
  lt: scalar,
  lte: scalar,
  is_null: { type: 'boolean' },
};


export const flowSpec = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://dxg.gov.local/schemas/dxg-flow.schema.json',
  title: 'dxg exchange flow',
  description: 'Who sends which indicator records to whom, and when.',
  type: 'object',
  additionalProperties: false,
  required: ['flow', 'resource', 'source', 'targets'],
  properties: {
    flow: { type: 'string', pattern: ID_PATTERN, maxLength: ID_MAX, description: 'Unique id of the flow (letters, digits, _, -, .).' },
    title: { type: 'string', description: 'Human name of the flow, e.g. 企业基础信息定期流转.' },
    description: { type: 'string', description: 'Free text: the agreement behind the flow, its legal basis.' },
    resource: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'Indicator set: schemas/<resource>.json.' },
    source: {
      type: 'object',
      description: 'Where the records come from: one table (or query) of one department.',
      additionalProperties: false,
      required: ['department', 'key', 'watermark', 'fields'],
      properties: {
        department: { type: 'string', description: 'Department that owns the data (one datum, one source).' },
        table: { type: 'string', minLength: 1, description: 'Source table (schema-qualified if needed). Give table or query.' },
        query: { type: 'string', minLength: 1, description: 'A read-only SELECT used instead of a table.' },
        key: {
          anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1, uniqueItems: true }],
          description: 'Indicator(s) identifying a record: unique in the source (dxg init warns when the table does not declare them unique).',
        },
        watermark: { type: 'string', description: 'Indicator used for incremental extraction: a timestamp set by the database on every write.' },
        schedule: { type: 'string', default: '0 * * * * *', description: 'Cron expression (seconds field allowed) of extraction cycles.' },
        fields: fieldMap('source'),
        soft_delete: {
          type: 'string',
          description: 'Indicator (mapped in fields) that marks a record deleted: true, 1 or "1"/"Y"/"true" sends the record to the targets as a delete.',
        },
        reconcile: {
          type: 'string',
          description: 'Cron expression of the key reconciliation that finds rows deleted from the source table (hard deletes) and deletes them at the targets.',
        },
        notify: {
          type: 'boolean', default: false,
          description: 'PostgreSQL sources: dxg init adds a statement trigger that notifies the node of every write, so a cycle starts within the settle time of a commit (the schedule stays as the fallback).',
        },
        page_size: { type: 'integer', minimum: 1, maximum: 100000, default: PAGE_SIZE, description: 'Rows read and committed per page (pages are pipelined: larger ones only cost memory).' },
        batch_size: { type: 'integer', minimum: 1, maximum: 50000, default: BATCH_SIZE, description: 'Records per message.' },
      },
    },
    targets: {
      type: 'array',
      minItems: 1,
      description: 'Who receives the records, each with the indicators and records granted to it.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['department', 'table', 'fields'],
        properties: {
          department: { type: 'string', description: 'Receiving department (one target per department).' },
          table: { type: 'string', minLength: 1, description: 'Table the records are written to (schema-qualified if needed); upsert needs a primary key or unique index on the key columns.' },
          mode: { enum: ['upsert', 'insert'], default: 'upsert', description: 'upsert: insert or update by key; insert: append each version once.' },
          on_delete: {
            enum: ['delete', 'flag'], default: 'delete',
            description: 'What a deleted record does here: delete removes the row; flag keeps it and sets the source.soft_delete indicator (which this target must map).',
          },
          fields: fieldMap('target'),
          where: {
            type: 'object',
            description: 'Records this target receives: indicator: value (equality) or one operator; all must hold. Evaluated at the source.',
            additionalProperties: {
              anyOf: [
                scalar,
                { type: 'null' },
                { type: 'object', additionalProperties: false, minProperties: 1, maxProperties: 1, properties: operators },
              ],
            },
          },
          codes: {
            type: 'object',
            description: 'Code tables: indicator: { value: value written in this target }. A value missing from a table is a data error.',
            additionalProperties: { type: 'object', minProperties: 1, additionalProperties: { type: ['string', 'number', 'boolean'] } },
          },
        },
      },
    },
  },
} as const;
