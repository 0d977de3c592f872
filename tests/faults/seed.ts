/**
 * The suite's seeds: its data and fault timing come from one printed seed (drawn with the demo's
 * seeded `Random`), so a failing run can be repeated with DXG_FAULTS_SEED=<seed>.
 */

/** The run's seed: DXG_FAULTS_SEED if set, otherwise a fresh one. */
export function suiteSeed(): number {
  const given = process.env.DXG_FAULTS_SEED;
  if (given && /^\d+$/.test(given)) return Number(given) >>> 0;
  return Math.floor(Math.random() * 2 ** 31);
}

/** A seed for one case, derived from the suite's seed and the case's name. */
export function caseSeed(seed: number, name: string): number {
  let h = seed >>> 0;
  for (const ch of name) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}
