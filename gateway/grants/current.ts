import type { Project } from '../config/project';
import type { Keyring } from '../envelope/keys';
import { CENTRE } from '../config/duration';
import { centreCall } from '../centre/client';
import { errorMessage } from '../errors';
import { Governance } from './governance';
import { grantListFile, type SignedGrantList } from './list';

/** The governance in force and where its grant list came from, said to whoever acts on it. */
export interface CurrentGovernance {
  governance: Governance;
  /** how the list was had: from the centre now, kept from an earlier answer, or none (an ungoverned exchange) */
  from: 'centre' | 'kept' | 'none';
  note: string | null;
}

/**
 * The grant list as the centre signs it now (`GET /api/grants`, no login) or, with the centre out of
 * reach, the one kept in the keys folder — saying so, as `dxg validate` and `dxg init` must.
 */
export async function currentGovernance(project: Project, keyring: Keyring, keep = false): Promise<CurrentGovernance> {
  const { config, catalog } = project;
  const centreKey = () => keyring.publicKey(CENTRE);
  const governance = Governance.kept(catalog, config.dirs.keys, centreKey, config.exchange);
  if (!catalog) return { governance, from: 'none', note: null };
  if (!config.centre) return { governance, from: 'kept', note: 'no centre: conditional resources are checked against the grant list kept in the keys folder' };
  try {
    const list = await centreCall<SignedGrantList>(config.centre.url, '/api/grants', { token: null, timeoutMs: 5000 });
    governance.adopt(list, keep ? config.dirs.keys : undefined);
    return { governance, from: 'centre', note: null };
  } catch (err) {
    const kept = governance.grantList;
    const held = kept ? `the grant list kept in ${grantListFile(config.dirs.keys)} (version ${kept.version}, issued ${kept.issuedAt})` : 'no grant list (none was ever kept here): every conditional target counts as ungranted';
    return { governance, from: 'kept', note: `the centre is unreachable (${errorMessage(err)}); using ${held}` };
  }
}
