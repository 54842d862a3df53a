/** One Marathon path segment: lower-case alphanumerics and dashes, dot-separated labels. */
export const ID_SEGMENT = /^(([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])\.)*([a-z0-9]|[a-z0-9][a-z0-9-]*[a-z0-9])$/;

/** Segments the REST API uses after an app id (`/v2/apps/{id}/tasks`): an id holding one would be ambiguous. */
const RESERVED_SEGMENTS = new Set(['restart', 'tasks', 'versions']);

/** Result of {@link resolveAppId}. */
export type AppIdResult = { ok: true; id: string } | { ok: false; error: string };

/**
 * Resolves a Marathon id against its base group as Marathon does: absolute
 * ids stay, relative ones (`app`, `./app`, `../other/app`) are resolved from
 * `base` (default `/`). Every resulting segment must match {@link ID_SEGMENT}.
 */
export function resolveAppId(id: string, base = '/'): AppIdResult {
  if (id.length === 0) return { ok: false, error: 'must not be empty' };
  const parts = id.startsWith('/') ? [] : base.split('/').filter(Boolean);
  for (const seg of id.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return { ok: false, error: `'${id}' points above the root group` };
      parts.pop();
      continue;
    }
    if (RESERVED_SEGMENTS.has(seg)) return { ok: false, error: `'${seg}' is reserved by the API (/v2/apps/{id}/${seg}) and cannot be a path segment` };
    if (!ID_SEGMENT.test(seg)) {
      return {
        ok: false,
        error: `'${seg}' is not a valid path segment: use lower-case letters, digits, '-' and '.', not starting or ending with '-' or '.'`,
      };
    }
    parts.push(seg);
  }
  if (parts.length === 0) return { ok: false, error: 'the root group is not an app id' };
  return { ok: true, id: `/${parts.join('/')}` };
}
