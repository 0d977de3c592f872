/**
 * The database a URL names, and the URL of the same server pointed at another database (the one
 * an engine runs CREATE/DROP DATABASE from: `postgres`, `master`, or none).
 */
export function onServer(url: string, maintenance: string): { name: string; server: string } {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!name) throw new Error(`no database named in ${target.protocol}//${target.host}`);
  target.pathname = maintenance ? `/${maintenance}` : '';
  return { name, server: target.toString() };
}
