/** Chinese first, with English: the language the user chose, else the browser's, else Chinese. */
import type { AlarmKind } from '../../gateway/centre/alarms';
import type { JournalAction } from '../../gateway/centre/journal';
import type { Stage } from '../../gateway/bookkeeping/quarantine';
import type { UPDATE_CYCLES } from '../../gateway/catalog/entry.spec';
import type { ErrorCode } from '../../gateway/errors';
import type { LedgerKind } from '../../gateway/ledger/ledger';

const zh = {
  title: 'dxg 数据交换中心', login: '登录', logout: '退出', user: '用户名', password: '密码', loginFailed: '登录失败',
  overview: '总览', flows: '交换流程', audit: '审计日志', quarantine: '隔离区', catalog: '资源目录', applications: '申请审批', nodes: '前置机节点',
  flow: '流程', target: '目标部门', source: '来源部门', state: '状态', lag: '时延 p50 / p95', rate: '记录/秒', backlog: '积压',
  extracted: '抽取', published: '发布', applied: '入库', rejected: '拒收', quarantined: '隔离', filtered: '过滤', withheld: '扣留（无授权）',
  awaiting: '待回执', outbox: '发件箱', queued: '队列中', reconciled: '对账', yes: '一致', no: '不一致', unknown: '未知',
  journal: '中心日志', journalAbout: '交换中心的每项决定与每次查看个人信息：谁、何时、做了什么、理由。', actor: '操作人', action: '操作', subject: '对象',
  alarms: '告警', clearAlarm: '清除', clearReason: '清除告警的理由（将记入日志）', none: '无', lagChart: '近几小时时延（p95，秒）', hours: '小时', reason: '原因', department: '部门', at: '时间',
  kind: '类型', records: '记录数', detail: '说明', key: '记录键', since: '起始', until: '截止', search: '查询', exportCsv: '导出 CSV',
  trail: '记录轨迹', trailOf: '记录轨迹：', verify: '账本校验', verifyRun: '校验全部账本', intact: '完整', broken: '已损坏',
  reveal: '显示原文（须说明理由，将被记录）', revealReason: '查看理由', masked: '个人信息已脱敏', more: '更多', prev: '上一页', next: '下一页',
  stage: '阶段', replay: '重放', replayConfirm: '确认重放这些条目？此操作将记入日志。', confirm: '确认', cancel: '取消', replayed: '已重放', replayedNote: '重放',
  themes: '主题视图', provider: '提供部门', sharing: '共享类型', updateCycle: '更新周期', items: '信息项', sensitive: '敏感', code: '资源代码',
  unconditional: '无条件共享', conditional: '有条件共享', notShared: '不予共享', condition: '条件', basis: '依据',
  apply: '申请', approve: '批准', reject: '驳回', revoke: '撤销授权', purpose: '用途', days: '有效天数', onEnd: '到期处理',
  submitted: '待审批', approved: '已批准', rejectedState: '已驳回', revoked: '已撤销', expired: '已过期', due: '答复期限', overdue: '已超期',
  workingDaysLeft: '剩余工作日', decidedBy: '审批人', grant: '授权', notCovered: '授权未覆盖，暂扣', heartbeat: '心跳', version: '版本', ledgerHead: '账本头', collected: '已收集',
  keys: '密钥', silent: '失联', complete: '完整', yaml: '流程定义（YAML）', indicators: '指标', mode: '方式', table: '目标表', schedule: '调度',
  noGrant: '无授权', error: '错误', loading: '加载中…', applyFor: '为本部门申请', applicant: '申请人', keep: '保留', purge: '清除',
  language: 'English', forbidden: '当前角色无权查看', reasonRequired: '须填写理由', done: '完成', entries: '条日志', unreachable: '无法连接交换中心', noAnswer: '以下节点未应答（未运行？）：', silentFor: '已 {n} 秒无心跳', silentSinceStart: '中心启动以来无心跳', notFound: '没有这个页面', nodeCheck: '节点自检', unanswered: '未应答', daysLeft: '剩余 {n} 个工作日', validFor: '有效期（天）', resource: '资源', itemTitle: '名称', validity: '有效期 · 到期处理', takenBack: '收回未读消息', untilRevoked: '至撤销为止', upTo: '至', wrongPassword: '用户名或密码错误', countersigned: '中心会签', validFrom: '生效', validUntil: '失效', revokedAt: '吊销', type: '类型', record: '记录内容', from: '发送方', to: '接收方',
};

const en: typeof zh = {
  title: 'dxg exchange centre', login: 'Log in', logout: 'Log out', user: 'User', password: 'Password', loginFailed: 'Login failed',
  overview: 'Overview', flows: 'Flows', audit: 'Audit log', quarantine: 'Quarantine', catalog: 'Catalog', applications: 'Applications', nodes: 'Nodes',
  flow: 'Flow', target: 'Target', source: 'Source', state: 'State', lag: 'Lag p50 / p95', rate: 'Records/s', backlog: 'Backlog',
  extracted: 'Extracted', published: 'Published', applied: 'Applied', rejected: 'Rejected', quarantined: 'Quarantined', filtered: 'Filtered', withheld: 'Withheld (no grant)',
  awaiting: 'Awaiting receipt', outbox: 'Outbox', queued: 'Queued', reconciled: 'Reconciled', yes: 'yes', no: 'no', unknown: 'unknown',
  journal: 'Journal', journalAbout: "The centre's every decision and every look at personal data: who, when, what, and why.", actor: 'Actor', action: 'Action', subject: 'Subject',
  alarms: 'Alarms', clearAlarm: 'Clear', clearReason: 'Why the alarm is cleared (recorded in the journal)', none: 'none', lagChart: 'Lag over the last hours (p95, s)', hours: 'hours', reason: 'Reason', department: 'Department', at: 'Time',
  kind: 'Kind', records: 'Records', detail: 'Detail', key: 'Record key', since: 'Since', until: 'Until', search: 'Search', exportCsv: 'Export CSV',
  trail: 'Trail', trailOf: 'Trail of ', verify: 'Ledger verification', verifyRun: 'Verify every ledger', intact: 'intact', broken: 'broken',
  reveal: 'Show unmasked (give a reason; it is recorded)', revealReason: 'Reason to look', masked: 'personal data masked', more: 'More', prev: 'Previous', next: 'Next',
  stage: 'Stage', replay: 'Replay', replayConfirm: 'Replay these items? This is recorded in the journal.', confirm: 'Confirm', cancel: 'Cancel', replayed: 'Replayed', replayedNote: 'replayed',
  themes: 'Themes', provider: 'Provider', sharing: 'Sharing', updateCycle: 'Update cycle', items: 'Items', sensitive: 'sensitive', code: 'Code',
  unconditional: 'unconditional', conditional: 'conditional', notShared: 'not shared', condition: 'Condition', basis: 'Basis',
  apply: 'Apply', approve: 'Approve', reject: 'Reject', revoke: 'Revoke', purpose: 'Purpose', days: 'Valid days', onEnd: 'On end',
  submitted: 'submitted', approved: 'approved', rejectedState: 'rejected', revoked: 'revoked', expired: 'expired', due: 'Answer by', overdue: 'overdue',
  workingDaysLeft: 'Working days left', decidedBy: 'Decided by', grant: 'Grant', notCovered: 'not covered: withheld', heartbeat: 'Heartbeat', version: 'Version', ledgerHead: 'Ledger head', collected: 'Collected',
  keys: 'Keys', silent: 'silent', complete: 'complete', yaml: 'Flow (YAML)', indicators: 'Indicators', mode: 'Mode', table: 'Table', schedule: 'Schedule',
  noGrant: 'no grant', error: 'Error', loading: 'Loading…', applyFor: 'Apply for my department', applicant: 'Applicant', keep: 'keep', purge: 'purge',
  language: '中文', forbidden: 'Your role may not see this', reasonRequired: 'A reason is required', done: 'Done', entries: 'entries', unreachable: 'The centre cannot be reached', noAnswer: 'No answer from these nodes (not running?): ', silentFor: 'no heartbeat for {n} s', silentSinceStart: 'no heartbeat since the centre started', notFound: 'No such page', nodeCheck: 'Node\'s own check', unanswered: 'no answer', daysLeft: '{n} working days left', validFor: 'Valid (days)', resource: 'Resource', itemTitle: 'Title', validity: 'Validity · on end', takenBack: 'unread messages taken back', untilRevoked: 'until revoked', upTo: 'until', wrongPassword: 'name or password wrong', countersigned: 'Countersigned', validFrom: 'Valid from', validUntil: 'Valid until', revokedAt: 'Revoked', type: 'Type', record: 'Record', from: 'From', to: 'To',
};

export type Key = keyof typeof zh;
export type Lang = 'zh' | 'en';

const chosen = (): Lang => {
  const kept = localStorage.getItem('dxg-lang');
  if (kept === 'zh' || kept === 'en') return kept;
  return navigator.language.toLowerCase().startsWith('en') ? 'en' : 'zh';
};

export let lang: Lang = chosen();

export function setLang(l: Lang): void {
  lang = l;
  localStorage.setItem('dxg-lang', l);
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}

export const t = (key: Key): string => (lang === 'zh' ? zh : en)[key];

/** A text with a number in it: `{n}` in the text. */
export const tn = (key: Key, n: number): string => t(key).replace('{n}', String(n));

/** The centre's journal actions and alarm kinds, in Chinese; in English they read as the centre writes them. */
const zhActions: Record<JournalAction, string> = {
  login: '登录', 'login failed': '登录失败', logout: '退出',
  'look: audit': '查询审计日志', 'look: journal': '查询对某记录的查看', 'look unmasked: audit': '查看审计日志原文', 'look: trail': '查询记录轨迹', 'look unmasked: trail': '查看记录轨迹原文',
  'look: quarantine': '查询隔离区', 'look unmasked: quarantine': '查看隔离区原文',
  'clear alarm': '清除告警', replay: '重放隔离条目', archived: '归档账本', 'catalog published': '发布资源目录',
  'application submitted': '提交申请', 'application approved': '批准申请', 'application rejected': '驳回申请', 'grant revoked': '撤销授权', 'grant expired': '授权到期',
  'key registered': '登记密钥', 'key refused': '拒绝密钥', 'key rotated': '轮换密钥', 'key replaced': '替换密钥', 'key revoked': '吊销密钥',
  'user added': '新增用户', 'user changed': '变更用户', 'user removed': '删除用户',
};

const zhAlarms: Record<AlarmKind, string> = {
  'node-silent': '节点失联', lag: '时延超限', counts: '对账不一致', 'ledger-break': '账本受损', 'dead-letter': '死信',
};

const zhEntries: Record<LedgerKind, string> = {
  extract: '抽取', quarantine: '隔离', publish: '发布', apply: '入库', reject: '拒收', receipt: '回执', 'dead-letter': '死信', duplicate: '重复投递',
  reconcile: '对账', delete: '删除', replay: '重放', dismiss: '不再处理', withhold: '扣留', 'grant-end': '授权终止', restored: '从备份恢复', anomaly: '异常',
};

/** What each error code of the centre's API means, in Chinese: the centre's own text follows it, with the details. */
const zhErrors: Record<ErrorCode | 'DXG_REQUEST' | 'DXG_NODE' | 'DXG_NO_ANSWER' | 'DXG_INTERNAL', string> = {
  DXG_CONFIG: '配置有误', DXG_CATALOG: '数据库中没有所指的表或列', DXG_DB: '数据库出错或无法连接', DXG_BROKER: '消息服务出错或无法连接', DXG_KEYS: '部门密钥缺失或不可用',
  DXG_LISTEN: '无法监听', DXG_CENTRE: '交换中心拒绝了请求', DXG_LOGIN: '须重新登录', DXG_FORBIDDEN: '当前角色或部门无权执行此操作', DXG_NOT_FOUND: '未找到',
  DXG_TIMEOUT: '等待超时', DXG_USAGE: '用法有误', DXG_REQUEST: '请求有误', DXG_NODE: '节点执行失败', DXG_NO_ANSWER: '节点未应答', DXG_INTERNAL: '交换中心内部错误',
};

/** An error the centre answered with, for the reader: in Chinese its code's meaning first, then the centre's words. */
export const errorText = (code: string | undefined, detail: string): string =>
  (lang === 'zh' && code && Object.hasOwn(zhErrors, code) ? `${zhErrors[code as keyof typeof zhErrors]}：${detail}` : detail);

const zhStages: Record<Stage, string> = { source: '来源端', target: '目标端', 'dead-letter': '死信' };

const zhCycles: Record<(typeof UPDATE_CYCLES)[number], string> = { realtime: '实时', daily: '每日', weekly: '每周', monthly: '每月', quarterly: '每季度', yearly: '每年' };

/** A word of the centre's vocabulary in the console's language; one this console does not know yet shows as the centre wrote it. */
const inChinese = <K extends string>(words: Record<K, string>) => (word: string): string => (lang === 'zh' && Object.hasOwn(words, word) ? words[word as K] : word);

export const actionLabel = inChinese(zhActions);
export const alarmLabel = inChinese(zhAlarms);
/** A ledger entry's kind (extract, publish, apply …). */
export const entryLabel = inChinese(zhEntries);
/** Where a quarantined item was set aside. */
export const stageLabel = inChinese(zhStages);
/** A catalog entry's update cycle. */
export const cycleLabel = inChinese(zhCycles);
