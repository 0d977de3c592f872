import { call } from '../api';
import { Badge, Loading, Problem, Table } from '../components';
import { num } from '../format';
import { useLoad } from '../hooks';
import { t } from '../i18n';
import type { Flow, Target } from '../types';

/** The grant a target receives under; a grant approved for fewer items than the target maps covers nothing, and the cell says why. */
function GrantCell({ cover }: { cover: Flow['targets'][number]['cover'] }) {
  if (!cover || (cover.ok && cover.grant === null)) return <span class="muted">—</span>;
  if (!cover.ok) return <span><Badge tone="bad">{t('notCovered')}</Badge> <small>{cover.problem}</small></span>;
  return cover.grant === 'unconditional' ? <Badge tone="info">{t('unconditional')}</Badge> : <Badge tone="ok">{cover.grant}</Badge>;
}

/** One flow: its YAML, its targets with their grant and counts. */
export function FlowPage({ id }: { id: string }) {
  const data = useLoad(async () => {
    const [flows, status] = await Promise.all([call<Flow[]>('/api/flows'), call<{ targets: Target[] }>('/api/status')]);
    return { flow: flows.find((f) => f.id === id) ?? null, all: flows, targets: status.targets.filter((x) => x.flow === id) };
  }, [id]);
  if (data.error) return <Problem text={data.error} />;
  if (!data.value) return <Loading />;
  const { flow, all, targets } = data.value;
  if (!flow) {
    return (
      <section>
        <h2>{t('flows')}</h2>
        <ul>{all.map((f) => <li><a href={`#/flows/${f.id}`}>{f.id}</a> — {f.title} ({f.resource})</li>)}</ul>
      </section>
    );
  }
  return (
    <section>
      <h2>{t('flow')} {flow.id} — {flow.title}</h2>
      <p>{flow.resource} · {t('source')}: {flow.source.department} · {t('schedule')}: <code>{flow.source.schedule}</code></p>
      <Table id="flow-targets" head={[t('target'), t('table'), t('mode'), t('indicators'), t('grant'), t('published'), t('applied'), t('rejected'), t('withheld'), t('reconciled')]}
        rows={flow.targets.map((x) => {
          const s = targets.find((y) => y.target === x.department);
          return [x.department, x.table, x.mode, x.indicators.join(', '), <GrantCell cover={x.cover} />,
            num(s?.counts?.published), num(s?.counts?.applied), num(s?.counts?.rejected), num(s?.counts?.withheld),
            s?.reconciled ? <Badge tone="ok">{t('yes')}</Badge> : s?.reconciled === false ? <Badge tone="bad">{t('no')}</Badge> : '—'];
        })} />
      <h3>{t('yaml')}</h3>
      <pre class="yaml">{flow.yaml}</pre>
    </section>
  );
}
