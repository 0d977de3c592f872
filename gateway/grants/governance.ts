import type { KeyObject } from 'node:crypto';
import type { CatalogEntry } from '../catalog/catalog';
import type { Flow, FlowTarget } from '../config/model';
import { DxgError } from '../errors';
import { grantListSignedBy, inForce, keepGrants, loadKeptGrants, type ListedGrant, type SignedGrantList } from './list';

/** What a target may receive: under which grant (`unconditional` for an unconditional resource), or why nothing. */
export type Cover = { ok: true; grant: string | null } | { ok: false; problem: string };

/** The name an envelope carries for a resource every department may receive. */
export const UNCONDITIONAL = 'unconditional';

/**
 * The catalog and the grant list together (DESIGN §9): which flow targets may receive, and under
 * which grant. An exchange without a catalog is not governed: every target may receive, as before.
 * The list is the centre's, signed; a node keeps the newest it received, so it keeps deciding with
 * the centre stopped.
 */
export class Governance {
  private readonly entries: Map<string, Pick<CatalogEntry, 'resource' | 'sharing'>> | null;

  /** `exchange`: the exchange a grant list must name to be taken (another's, signed by its own centre, decides nothing here) */
  constructor(catalog: readonly Pick<CatalogEntry, 'resource' | 'sharing'>[] | null, private list: SignedGrantList | null, private readonly centreKey: () => KeyObject, private readonly exchange: string) {
    this.entries = catalog ? new Map(catalog.map((e) => [e.resource, e])) : null;
  }

  /** With the grant list the keys folder holds (what the last run of a node, or of init, received). */
  static kept(catalog: readonly Pick<CatalogEntry, 'resource' | 'sharing'>[] | null, keysDir: string, centreKey: () => KeyObject, exchange: string): Governance {
    return new Governance(catalog, catalog ? loadKeptGrants(keysDir, centreKey, exchange) : null, centreKey, exchange);
  }

  get governed(): boolean {
    return this.entries !== null;
  }

  get grantList(): SignedGrantList | null {
    return this.list;
  }

  get version(): number {
    return this.list?.version ?? 0;
  }

  /**
   * Takes a list the centre signed when it is newer than the one held; with `keysDir`, keeps it there.
   * Returns the grants it ends (in force before, not now), for their on_end.
   */
  adopt(list: SignedGrantList, keysDir?: string): ListedGrant[] | null {
    if (list.exchange !== this.exchange) throw new DxgError('DXG_KEYS', `a grant list of exchange '${list.exchange}', not of '${this.exchange}'`);
    if (this.list && list.version <= this.list.version) return null;
    if (!grantListSignedBy(list, this.centreKey())) throw new DxgError('DXG_KEYS', `a grant list (version ${list.version}) not signed by the centre's key`);
    const before = this.list?.grants.filter((g) => inForce(g)) ?? [];
    this.list = list;
    if (keysDir) keepGrants(keysDir, list);
    return before.filter((g) => !list.grants.some((n) => n.id === g.id && inForce(n)));
  }

  /** Whether (and under which grant) the target may receive the flow's records now. */
  cover(flow: Flow, target: Pick<FlowTarget, 'department' | 'fields'>, now = new Date().toISOString()): Cover {
    if (!this.entries) return { ok: true, grant: null };
    const entry = this.entries.get(flow.resource);
    if (!entry) return { ok: false, problem: `resource '${flow.resource}' has no catalog entry` };
    if (entry.sharing.type === 'unconditional') return { ok: true, grant: UNCONDITIONAL };
    if (entry.sharing.type === 'none') return { ok: false, problem: `${flow.resource} is not shared (sharing: none)` };
    const wanted = Object.keys(target.fields);
    const held = (this.list?.grants ?? []).filter((g) => g.resource === flow.resource && g.department === target.department && inForce(g, now));
    const covering = held.find((g) => wanted.every((i) => g.items.includes(i)));
    if (covering) return { ok: true, grant: covering.id };
    const apply = `dxg apply --resource ${flow.resource} --department ${target.department} --items ${wanted.join(',')}`;
    if (!this.list) return { ok: false, problem: `${flow.resource} is conditional and no grant list from the centre is at hand (none kept yet): ${target.department} needs an approved grant (${apply})` };
    if (held.length) {
      const missing = wanted.filter((i) => !held.some((g) => g.items.includes(i)));
      return { ok: false, problem: `grant ${held.map((g) => g.id).join(', ')} of ${target.department} for ${flow.resource} does not cover ${missing.join(', ') || 'every mapped indicator in one grant'} (${apply})` };
    }
    const ended = (this.list.grants).filter((g) => g.resource === flow.resource && g.department === target.department && g.ended);
    const why = ended.length ? ` (grant ${ended.map((g) => `${g.id} ${g.ended!.as}`).join(', ')})` : '';
    return { ok: false, problem: `${target.department} has no approved grant to receive ${flow.resource}, a conditional resource${why}: ${apply}` };
  }

  /** The flow targets (of `department` only, when given) that may not receive now, with why. */
  uncovered(flows: readonly Flow[], department?: string): { flow: Flow; target: FlowTarget; problem: string }[] {
    return flows.flatMap((flow) => flow.targets.filter((t) => !department || t.department === department).flatMap((target) => {
      const cover = this.cover(flow, target);
      return cover.ok ? [] : [{ flow, target, problem: cover.problem }];
    }));
  }

  /** The flows a department may read from its queues now (every flow it receives, when ungoverned). */
  readable(flows: readonly Flow[], department: string): Flow[] {
    return flows.filter((f) => f.targets.some((t) => t.department === department && this.cover(f, t).ok));
  }

  /** A grant of the list by id. */
  grant(id: string): ListedGrant | undefined {
    return this.list?.grants.find((g) => g.id === id);
  }
}
