/**
 * Language tags of audio streams. Containers say ISO 639-2 ("eng", or the bibliographic "fre",
 * "ger"); HLS wants an RFC 5646 (BCP 47) tag in LANGUAGE, where a language with a two-letter code
 * must use it ("en", "fr", "de"), and a human-readable NAME.
 */

/** Canonical BCP 47 tag for a container's language tag; null when undetermined or not a tag. */
export function languageTag(raw: string | null | undefined): string | null {
  const text = raw?.trim();
  if (!text || /^(und|unk|unknown|none|n\/a)$/i.test(text)) return null;
  try {
    // ICU's alias data maps ISO 639-2/T and /B codes to the two-letter ones: eng -> en, fre -> fr
    return Intl.getCanonicalLocales(text.replace(/_/g, '-'))[0] ?? null;
  } catch {
    return null;
  }
}

/** The language's name in that language, capitalised ("en" -> "English", "fr" -> "Français"); the tag when unknown. */
export function languageName(tag: string): string {
  let name: string | undefined;
  try {
    name = new Intl.DisplayNames([tag], { type: 'language', fallback: 'none' }).of(tag);
  } catch {
    name = undefined;
  }
  if (!name) return tag;
  return name.charAt(0).toLocaleUpperCase(tag) + name.slice(1);
}
