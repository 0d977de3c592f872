import { call } from '../api';
import { Badge, Problem, Table } from '../components';
import { dateTime } from '../format';
import { useEvery, useLoad } from '../hooks';
import { t } from '../i18n';
import type { NodeView } from '../types';

interface KeyList { version: number; keys: { department: string; id: string; validFrom: string; validUntil: string | null; revokedAt: string | null }[] }

/** Every department's node: heartbeat, version, ledger head, how much of its ledger the centre holds; the key registry. */
export function Nodes() {
  const nodes = useLoad(() => call<NodeView[]>('/api/nodes'));
  const keys = useLoad(() => call<KeyList>('/api/keys'));
  useEvery(10_000, nodes.reload);
  return (
    <section>
      <h2>{t('nodes')}</h2>
      <Problem text={nodes.error} />
      <Table id="nodes" head={[t('department'), '', t('version'), t('heartbeat'), t('ledgerHead'), t('collected'), t('state')]}
        rows={(nodes.value ?? []).map((n) => [n.department, n.name, n.version ?? '—', dateTime(n.heartbeatAt), n.head?.seq ?? '—', n.collected,
          n.broken ? <Badge tone="bad">{t('broken')} @ {n.broken.seq}</Badge> : n.silent ? <Badge tone="warn">{t('silent')}</Badge> : <Badge tone="ok">{t('complete')}</Badge>])} />
      <h3>{t('keys')} {keys.value && <small>v{keys.value.version}</small>}</h3>
      <Problem text={keys.error} />
      <Table id="keys" head={[t('department'), 'ID', t('validFrom'), t('validUntil'), t('revokedAt')]}
        rows={(keys.value?.keys ?? []).map((k) => [k.department, <code>{k.id.slice(0, 16)}…</code>, dateTime(k.validFrom), dateTime(k.validUntil), k.revokedAt ? <Badge tone="bad">{dateTime(k.revokedAt)}</Badge> : ''])} />
    </section>
  );
}
