/**
 * The AWS SDK's reading of a shared config file, on a string: a port of
 * `parseIni` and `getConfigData` from @smithy/core's config submodule
 * (dist-cjs/submodules/config/index.js; Apache-2.0, © Amazon.com, Inc.),
 * which read files only. `framework-plugin/test/parseProfiles.test.ts` runs
 * both on the same texts and requires the same answer. Pure.
 */

/** Section prefixes the SDK keeps (`@smithy/types` `IniSectionType`). */
const SECTION_TYPES = ['profile', 'sso-session', 'services'];
const SEPARATOR = '.';
const PREFIX_KEY = /^([\w-]+)\s(["'])?([\w-@+.%:/]+)\2$/;
const BLOCKED = ['__proto__', 'profile __proto__'];

/** Profiles by name (`default`, `x` for `[profile x]`) with their keys, as the SDK's default chain reads the file. */
export type Profiles = Record<string, Record<string, string | undefined>>;

/**
 * Parses AWS shared-config text exactly as the SDK does.
 * @throws Error for a section the SDK refuses (`[__proto__]`).
 */
export function parseProfiles(text: string): Profiles {
  return configData(parseIni(text));
}

function parseIni(iniData: string): Profiles {
  const map: Profiles = {};
  let currentSection: string | undefined;
  let currentSubSection: string | undefined;
  for (const iniLine of iniData.split(/\r?\n/)) {
    const trimmedLine = iniLine.split(/(^|\s)[;#]/)[0]!.trim();
    const isSection = trimmedLine[0] === '[' && trimmedLine[trimmedLine.length - 1] === ']';
    if (isSection) {
      currentSection = undefined;
      currentSubSection = undefined;
      const sectionName = trimmedLine.substring(1, trimmedLine.length - 1);
      const matches = PREFIX_KEY.exec(sectionName);
      if (matches) {
        const [, prefix, , name] = matches;
        if (SECTION_TYPES.includes(prefix!)) currentSection = [prefix, name].join(SEPARATOR);
      } else {
        currentSection = sectionName;
      }
      if (BLOCKED.includes(sectionName)) throw new Error(`Found invalid profile name "${sectionName}"`);
    } else if (currentSection) {
      const eq = trimmedLine.indexOf('=');
      if (![0, -1].includes(eq)) {
        const name = trimmedLine.substring(0, eq).trim();
        const value = trimmedLine.substring(eq + 1).trim();
        if (value === '') {
          currentSubSection = name;
        } else {
          if (currentSubSection && iniLine.trimStart() === iniLine) currentSubSection = undefined;
          map[currentSection] = map[currentSection] || {};
          const key = currentSubSection ? [currentSubSection, name].join(SEPARATOR) : name;
          map[currentSection]![key] = value;
        }
      }
    }
  }
  return map;
}

function configData(data: Profiles): Profiles {
  const out: Profiles = { ...(data.default && { default: data.default }) };
  for (const [key, value] of Object.entries(data)) {
    const i = key.indexOf(SEPARATOR);
    if (i === -1 || !SECTION_TYPES.includes(key.substring(0, i))) continue;
    out[key.substring(0, i) === 'profile' ? key.substring(i + 1) : key] = value;
  }
  return out;
}
