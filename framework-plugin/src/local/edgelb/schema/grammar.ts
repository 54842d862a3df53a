/**
 * What each value that reaches `haproxy.cfg` may look like. Every Auto Pool
 * label and every Pool API field is checked here before rendering, so no
 * value can end a directive, start a comment or add a line; the renderer
 * checks once more for control characters ({@link assertNoControl}).
 * `miscStrs` (raw HAProxy lines) are the one exception, as in Edge-LB, and
 * only through the token-protected Pool API.
 */

/** Names that would reach an object's prototype if used as keys. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** RFC 1123 host name, lower case (Edge-LB lowercases hosts). */
const HOST = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
/** An IPv4 address. */
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
/** A URL path: starts with `/`, then RFC 3986 path characters (no space, `#`, quote, backslash, brace). */
const PATH = /^\/[A-Za-z0-9._~!$&()*+,;=:@%/-]*$/;
/** A path suffix for `path_end` (need not start with `/`). */
const PATH_PART = /^[A-Za-z0-9._~!$&()*+,;=:@%/-]+$/;
/** HAProxy's balance algorithms (2.6), with their one argument where they take one. */
const BALANCE = /^(roundrobin|static-rr|leastconn|first|source|random|uri|url_param [A-Za-z0-9_.-]+|hdr\([A-Za-z0-9_-]+\)|rdp-cookie(\([A-Za-z0-9_-]+\))?)$/;
/** Group, template and backend names. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
/** Arguments of the `cookie` directive for sticky sessions. */
const COOKIE = /^[A-Za-z0-9_-]+( [A-Za-z0-9_-]+)*$/;

/** A check: `undefined` when the value is fine, else what it must be (never quoting the value). */
export type Check = (value: string) => string | undefined;

const rule =
  (re: RegExp, what: string): Check =>
  (v) =>
    re.test(v) ? undefined : what;

/** The grammar of each field kind. */
export const grammar = {
  host: rule(HOST, 'must be a lower-case host name (RFC 1123: letters, digits, dashes, dots)'),
  address: rule(new RegExp(`${IPV4.source}|${HOST.source}`), 'must be an IPv4 address or a lower-case host name'),
  path: rule(PATH, 'must be a URL path: "/" then letters, digits and ._~!$&()*+,;=:@%/- (no spaces, "#", quotes or backslashes)'),
  pathPart: rule(PATH_PART, 'must be letters, digits and ._~!$&()*+,;=:@%/- (no spaces, "#", quotes or backslashes)'),
  balance: rule(
    BALANCE,
    "must be one of HAProxy's balance algorithms: roundrobin, static-rr, leastconn, first, source, random, uri, url_param <name>, hdr(<name>), rdp-cookie[(<name>)]",
  ),
  name: (v: string) =>
    FORBIDDEN_KEYS.has(v)
      ? 'is a reserved name'
      : NAME.test(v)
        ? undefined
        : 'must be letters, digits, "_", "." or "-" (at most 63), starting with a letter or digit',
  cookie: rule(COOKIE, 'must be words of letters, digits, "_" or "-" separated by single spaces'),
  port: (v: string) => (/^\d{1,5}$/.test(v) && Number(v) >= 1 && Number(v) <= 65535 ? undefined : 'must be a port number 1-65535'),
  /** A regular expression: valid, no control characters and no single quote (it is rendered single-quoted). */
  regex: (v: string) => {
    if (CONTROL.test(v) || v.includes("'")) return 'must not contain control characters or a single quote';
    try {
      new RegExp(v);
    } catch {
      return 'is not a valid regular expression';
    }
    return undefined;
  },
} satisfies Record<string, Check>;

/** True when `value` holds a control character (a newline, a NUL, …). */
export function hasControl(value: string): boolean {
  return CONTROL.test(value);
}
