import { useState } from 'preact/hooks';
import { call, query, type User } from '../api';
import { Badge, Loading, Problem, Table } from '../components';
import { useLoad } from '../hooks';
import { cycleLabel, t } from '../i18n';
import { UPDATE_CYCLES } from '../../../gateway/catalog/entry.spec';
import type { CatalogEntry } from '../types';

export const sharingLabel = (s: CatalogEntry['sharing']['type']) => (s === 'unconditional' ? t('unconditional') : s === 'conditional' ? t('conditional') : t('notShared'));
const sharingTone = (s: CatalogEntry['sharing']['type']) => (s === 'unconditional' ? 'ok' : s === 'conditional' ? 'warn' : 'bad');

/** The published catalog: search with facets, the thematic views, one entry with its items. */
export function Catalog({ resource }: { resource: string; user: User }) {
  const [f, setF] = useState({ q: '', provider: '', theme: '', sharing: '', update_cycle: '' });
  const list = useLoad(() => call<{ entries: CatalogEntry[] }>(`/api/catalog${query(f)}`), [f]);
  const themes = useLoad(() => call<{ theme: string; resources: string[] }[]>('/api/catalog/themes'));
  const entry = useLoad(() => (resource ? call<CatalogEntry>(`/api/catalog/${encodeURIComponent(resource)}`) : Promise.resolve(null)), [resource]);
  const set = (k: keyof typeof f) => (e: Event) => setF({ ...f, [k]: (e.currentTarget as HTMLInputElement).value });
  if (resource) {
    const e = entry.value;
    return (
      <section>
        <p><a href="#/catalog">← {t('catalog')}</a></p>
        <Problem text={entry.error} />
        {!e ? <Loading /> : (
          <>
            <h2>{e.title} <small>{e.resource} · {e.code}</small></h2>
            <p>{e.abstract}</p>
            <p>{t('provider')}: {e.provider} · {[e.classification.class, e.classification.item, e.classification.subitem].filter(Boolean).join(' / ')} · {t('updateCycle')}: {cycleLabel(e.updateCycle)}</p>
            <p><Badge tone={sharingTone(e.sharing.type)}>{sharingLabel(e.sharing.type)}</Badge> {e.sharing.condition && `${t('condition')}: ${e.sharing.condition}`} {e.sharing.basis && `${t('basis')}: ${e.sharing.basis}`}</p>
            <Table id="items" head={[t('items'), t('itemTitle'), t('type'), t('sensitive')]} rows={e.items.map((i) => [i.name, i.title, i.type, i.sensitive ? <Badge tone="warn">{t('sensitive')}</Badge> : ''])} />
          </>
        )}
      </section>
    );
  }
  return (
    <section>
      <h2>{t('catalog')}</h2>
      <div class="filters">
        <label>{t('search')}<input name="q" value={f.q} onChange={set('q')} /></label>
        <label>{t('provider')}<input name="provider" value={f.provider} onChange={set('provider')} /></label>
        <label>{t('themes')}
          <select name="theme" value={f.theme} onChange={set('theme')}><option value="">—</option>{(themes.value ?? []).map((x) => <option>{x.theme}</option>)}</select>
        </label>
        <label>{t('sharing')}
          <select name="sharing" value={f.sharing} onChange={set('sharing')}>
            <option value="">—</option><option value="unconditional">{t('unconditional')}</option><option value="conditional">{t('conditional')}</option><option value="none">{t('notShared')}</option>
          </select>
        </label>
        <label>{t('updateCycle')}
          <select name="update_cycle" value={f.update_cycle} onChange={set('update_cycle')}>
            <option value="">—</option>{UPDATE_CYCLES.map((c) => <option value={c}>{cycleLabel(c)}</option>)}
          </select>
        </label>
      </div>
      <Problem text={list.error} />
      <Table id="catalog" head={[t('code'), t('resource'), t('provider'), t('sharing'), t('updateCycle'), t('items'), t('themes')]}
        rows={(list.value?.entries ?? []).map((e) => [e.code, <a href={`#/catalog/${e.resource}`}>{e.title} ({e.resource})</a>, e.provider,
          <Badge tone={sharingTone(e.sharing.type)}>{sharingLabel(e.sharing.type)}</Badge>, cycleLabel(e.updateCycle), e.items.length, e.themes.join('、')])} />
      <h3>{t('themes')}</h3>
      <Table id="themes" head={[t('themes'), t('resource')]} rows={(themes.value ?? []).map((x) => [x.theme, x.resources.map((r) => <a href={`#/catalog/${r}`}>{r} </a>)])} />
    </section>
  );
}
