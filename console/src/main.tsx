import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './style.css';
import { call, logout, token, whenLoggedOut, type User } from './api';
import { lang, setLang, t, type Key } from './i18n';
import { Applications } from './pages/Applications';
import { Audit } from './pages/Audit';
import { Catalog } from './pages/Catalog';
import { FlowPage } from './pages/Flow';
import { Journal } from './pages/Journal';
import { Login } from './pages/Login';
import { Nodes } from './pages/Nodes';
import { Overview } from './pages/Overview';
import { Quarantine } from './pages/Quarantine';

type Role = User['role'];
const ALL: Role[] = ['auditor', 'operator', 'approver'];
const AUDIT: Role[] = ['auditor', 'operator'];

/** The pages, and who sees each: the API refuses the same roles what the navigation hides from them. */
const PAGES: { path: string; title: Key; roles: Role[] }[] = [
  { path: 'overview', title: 'overview', roles: ALL },
  { path: 'audit', title: 'audit', roles: AUDIT },
  { path: 'quarantine', title: 'quarantine', roles: AUDIT },
  { path: 'catalog', title: 'catalog', roles: ALL },
  { path: 'applications', title: 'applications', roles: ALL },
  { path: 'nodes', title: 'nodes', roles: AUDIT },
  { path: 'journal', title: 'journal', roles: AUDIT },
];

/** `#/page/rest?query` */
function route(): { page: string; rest: string; params: URLSearchParams } {
  const [path, q] = location.hash.replace(/^#\/?/, '').split('?');
  const [page, ...rest] = path.split('/');
  return { page: page || 'overview', rest: decodeURIComponent(rest.join('/')), params: new URLSearchParams(q ?? '') };
}

function App() {
  const [user, setUser] = useState<User | null>(null);
  const [checked, setChecked] = useState(!token());
  const [where, setWhere] = useState(route());
  const [, setLanguage] = useState(lang);
  useEffect(() => {
    whenLoggedOut(() => setUser(null));
    const moved = () => setWhere(route());
    addEventListener('hashchange', moved);
    if (token()) call<User>('/api/me').then(setUser, () => undefined).finally(() => setChecked(true));
    return () => removeEventListener('hashchange', moved);
  }, []);
  if (!checked) return null;
  const toggle = () => {
    setLang(lang === 'zh' ? 'en' : 'zh');
    setLanguage(lang);
  };
  if (!user) return <Login onLogin={setUser} onLanguage={toggle} />;
  const allowed = PAGES.filter((p) => p.roles.includes(user.role));
  const page = where.page === 'flows' ? { path: 'flows', roles: ALL } : allowed.find((p) => p.path === where.page);
  return (
    <div class="shell">
      <header>
        <strong>{t('title')}</strong>
        <nav>{allowed.map((p) => <a href={`#/${p.path}`} class={p.path === where.page ? 'here' : ''}>{t(p.title)}</a>)}</nav>
        <span class="who">{user.name} · {user.role}{user.department ? ` · ${user.department}` : ''}</span>
        <button class="link" onClick={toggle}>{t('language')}</button>
        <button class="link" onClick={() => void logout()}>{t('logout')}</button>
      </header>
      <main>
        {!page ? <p class="error">{PAGES.some((p) => p.path === where.page) ? t('forbidden') : t('notFound')}</p>
          : page.path === 'overview' ? <Overview user={user} />
            : page.path === 'flows' ? <FlowPage id={where.rest} />
              : page.path === 'audit' ? <Audit params={where.params} user={user} />
                : page.path === 'quarantine' ? <Quarantine user={user} />
                  : page.path === 'catalog' ? <Catalog resource={where.rest} user={user} />
                    : page.path === 'applications' ? <Applications user={user} />
                      : page.path === 'journal' ? <Journal />
                        : <Nodes />}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
