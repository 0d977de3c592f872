/**
 * Spec of a resource catalog entry, `catalog/<resource>.yaml` (DESIGN §9): the core metadata of
 * GB/T 21063 and the national catalog guide. Validation, the editor schema
 * (schemas/dxg-catalog.schema.json) and docs/reference.md come from this one object.
 */
export const SHARING_TYPES = ['unconditional', 'conditional', 'none'] as const;
export const UPDATE_CYCLES = ['realtime', 'daily', 'weekly', 'monthly', 'quarterly', 'yearly'] as const;

export const catalogSpec = {
  $schema: 'http://json-schema.org/draft-07/schema#',
  $id: 'https://dxg.gov.local/schemas/dxg-catalog.schema.json',
  title: 'dxg resource catalog entry',
  description: 'One shared information resource (信息资源): who provides it, what it holds, and on what terms it is shared.',
  type: 'object',
  additionalProperties: false,
  required: ['resource', 'code', 'title', 'provider', 'abstract', 'classification', 'items', 'sharing', 'update_cycle', 'published'],
  properties: {
    resource: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]*$', description: 'The indicator set the resource is: schemas/<resource>.json.' },
    code: { type: 'string', pattern: '^[0-9A-Z]+(-[0-9A-Z]+)*/[0-9]{3,6}$', description: 'Resource code (信息资源代码): the classification code, a slash, the sequence number, e.g. 3701-01-02/000001.' },
    title: { type: 'string', minLength: 2, maxLength: 200, description: 'Resource name (信息资源名称).' },
    provider: { type: 'string', description: 'The providing department (提供方), an id of departments: in the exchange configuration.' },
    abstract: { type: 'string', minLength: 10, description: 'What the resource holds and what it is for (信息资源摘要).' },
    classification: {
      type: 'object',
      additionalProperties: false,
      required: ['class', 'item'],
      description: 'Catalog classification: 类 (class), 项 (item), 目 (subitem).',
      properties: {
        class: { type: 'string', description: '类, e.g. 基础信息资源, 主题信息资源, 部门信息资源.' },
        item: { type: 'string', description: '项, e.g. 法人单位, 人口.' },
        subitem: { type: 'string', description: '目.' },
      },
    },
    themes: { type: 'array', items: { type: 'string' }, uniqueItems: true, default: [], description: 'Thematic views the resource appears in (主题), e.g. 市场监管, 社会保障.' },
    format: { type: 'string', default: 'database', description: 'Information resource format (信息资源格式), e.g. database, file, service.' },
    items: {
      type: 'array',
      minItems: 1,
      description: 'Information items (信息项): indicators of the indicator set this resource shares; their types come from the set.',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', description: 'The indicator, as in the indicator set.' },
          title: { type: 'string', description: 'Its name in the catalog (default: the indicator set\'s title).' },
          sensitive: { type: 'boolean', default: false, description: 'Personal or otherwise sensitive data: masked in the console and logs unless asked for.' },
        },
      },
    },
    sharing: {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      description: 'Sharing type (共享类型) and its terms.',
      properties: {
        type: { enum: [...SHARING_TYPES], description: 'unconditional (无条件共享), conditional (有条件共享: an approved application is needed) or none (不予共享: with its legal basis).' },
        condition: { type: 'string', description: 'For conditional: what an applicant must meet.' },
        basis: { type: 'string', description: 'The legal or policy basis; required for none.' },
      },
    },
    method: { type: 'string', default: 'exchange', description: 'Sharing method (共享方式), e.g. exchange (前置交换), service (接口), file.' },
    open: { enum: ['open', 'conditional', 'closed'], default: 'closed', description: 'Open type (开放类型) towards the public.' },
    update_cycle: { enum: [...UPDATE_CYCLES], description: 'How often the provider updates it (更新周期).' },
    published: { type: 'string', format: 'date', description: 'Publish date (发布日期), YYYY-MM-DD.' },
    related: { type: 'array', items: { type: 'string' }, default: [], description: 'Related resources, by resource id.' },
  },
} as const;
