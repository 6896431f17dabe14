import { describe, expect, it } from 'vitest';
import { languageName, languageTag } from '../../src/media/language.js';

describe('languageTag: container language -> RFC 5646 tag for LANGUAGE', () => {
  it('maps ISO 639-2 terminology and bibliographic codes to the two-letter code', () => {
    expect(languageTag('eng')).toBe('en');
    expect(languageTag('fra')).toBe('fr');
    expect(languageTag('fre')).toBe('fr');
    expect(languageTag('ger')).toBe('de');
    expect(languageTag('deu')).toBe('de');
    expect(languageTag('jpn')).toBe('ja');
    expect(languageTag('chi')).toBe('zh');
  });

  it('keeps valid BCP 47 tags (canonical case) and three-letter codes without a two-letter one', () => {
    expect(languageTag('pt-BR')).toBe('pt-BR');
    expect(languageTag('en_us')).toBe('en-US');
    expect(languageTag('yue')).toBe('yue');
  });

  it('undetermined or malformed: null', () => {
    for (const t of ['und', 'UND', '', '  ', null, undefined, 'xx1', 'not a tag', 'unknown']) expect(languageTag(t), String(t)).toBeNull();
  });
});

describe('languageName: NAME in the language itself', () => {
  it('capitalises the autonym', () => {
    expect(languageName('en')).toBe('English');
    expect(languageName('fr')).toBe('Français');
    expect(languageName('de')).toBe('Deutsch');
    expect(languageName('es')).toBe('Español');
  });

  it('falls back to the tag', () => {
    expect(languageName('qaa')).toBe('qaa');
  });
});
