/**
 * Masking of personal data and secrets for operational logs and terminal output.
 * The audit ledger keeps full record keys (auditors search by them); logs never do.
 */
const ID_NUMBER = /(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3}[0-9Xx])(?![0-9A-Za-z])/g;
/**
 * An identity number holds a birth date after its region (GB 11643); an all-digit credit code
 * (GB 32100) holds an organisation code there, which reads as no date: it is not personal data.
 * A wrong check digit is still masked (a mistyped identity number is one all the same).
 */
const BIRTH_DATE = /^(19|20)\d{2}(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])$/;
const maskId = (whole: string, region: string, birth: string, tail: string): string => (BIRTH_DATE.test(birth) ? `${region}********${tail}` : whole);
const MOBILE = /(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)/g;
/**
 * `scheme://user:password@host`: the password may hold `/`, `:` or `?` written raw. It ends before
 * `,scheme://`, where the next URL of a list (a cluster's broker.url) begins, so that a first URL
 * without credentials does not swallow the next one's host. A scheme is only looked for where a run
 * of scheme characters begins (the lookbehind), so a long run is read once, not once for each of its
 * characters (that took time growing with the square of its length); the run may begin with any of
 * them (`1postgres://`), which masks a little more than a URL, never less. The user (256) and the
 * password (1,024 characters) are bounded for the same reason: a text of many `x://` and no `@`
 * had each scheme read to its end.
 */
const URL_PASSWORD = /(?<![a-z0-9+.-])([a-z0-9+.-]+:\/\/[^:/?#@\s]{0,256}:)(?:(?!,\s*[a-z][a-z0-9+.-]*:\/\/)[^@\s]){0,1024}@/gi;
/** `?password=…`, `&sslpassword=…`, `Password=…;` (ODBC/ADO style), `token=…` and the like, in a URL or a connection string */
const PARAM_SECRET = /((?:^|[?&;\s,(])(?:[a-z_]*pass(?:word|wd)?|pwd|secret|token|access_token|api_?key|auth)\s*=\s*)(?:"[^"]*"|'[^']*'|[^&;\s,)"']+)/gi;

/**
 * `limit`: the longest text to give back, cut with its length named. A text is cut before it is
 * masked as well (a header or a reason a hostile sender made long is not read whole): at twice the
 * limit, so that what a cut there leaves unmasked (half an identity number) is cut off again afterwards.
 */
export function maskText(text: string, limit = Infinity): string {
  const masked = (text.length > 2 * limit ? text.slice(0, 2 * limit) : text)
    .replace(URL_PASSWORD, '$1***@')
    .replace(PARAM_SECRET, '$1***')
    .replace(ID_NUMBER, maskId)
    .replace(MOBILE, '$1****$2');
  return text.length > limit ? `${masked.slice(0, limit)}… (${text.length} characters)` : masked;
}

export function maskDeep(value: unknown, depth = 0, limit = Infinity): unknown {
  if (typeof value === 'string') return maskText(value, limit);
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return maskText(value.message, limit);
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, depth + 1, limit));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = maskDeep(v, depth + 1, limit);
  return out;
}
