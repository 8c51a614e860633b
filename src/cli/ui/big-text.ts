/**
 * A 3x5 block font for the session code on the waiting screen, so that it can be read out
 * across a room. Pure: text in, rows of text out.
 */

/** Rows of every glyph. */
export const GLYPH_ROWS = 5;

// '#' = ink. Digits, capitals and the few separators a session code is likely to have.
const GLYPHS: Record<string, string> = {
  '0': '###|# #|# #|# #|###', '1': ' # |## | # | # |###', '2': '###|  #|###|#  |###',
  '3': '###|  #|###|  #|###', '4': '# #|# #|###|  #|  #', '5': '###|#  |###|  #|###',
  '6': '###|#  |###|# #|###', '7': '###|  #|  #|  #|  #', '8': '###|# #|###|# #|###',
  '9': '###|# #|###|  #|###', A: '###|# #|###|# #|# #', B: '## |# #|## |# #|## ',
  C: '###|#  |#  |#  |###', D: '## |# #|# #|# #|## ', E: '###|#  |## |#  |###',
  F: '###|#  |## |#  |#  ', G: '###|#  |# #|# #|###', H: '# #|# #|###|# #|# #',
  I: '###| # | # | # |###', J: '  #|  #|  #|# #|###', K: '# #|# #|## |# #|# #',
  L: '#  |#  |#  |#  |###', M: '# #|###|###|# #|# #', N: '## |# #|# #|# #|# #',
  O: '###|# #|# #|# #|###', P: '###|# #|###|#  |#  ', Q: '###|# #|# #|###|  #',
  R: '## |# #|## |# #|# #', S: '###|#  |###|  #|###', T: '###| # | # | # | # ',
  U: '# #|# #|# #|# #|###', V: '# #|# #|# #|# #| # ', W: '# #|# #|###|###|# #',
  X: '# #|# #| # |# #|# #', Y: '# #|# #| # | # | # ', Z: '###|  #| # |#  |###',
  '-': '   |   |###|   |   ', _: '   |   |   |   |###', '.': '   |   |   |   | # ',
  ' ': '   |   |   |   |   ',
};

/**
 * `text` in the block font, each ink cell `scale` columns wide, or null when a character has
 * no glyph or the result would be wider than `maxCols`.
 */
export function bigText(text: string, maxCols: number, scale = 2): string[] | null {
  const chars = [...text.toUpperCase()];
  const glyphs = chars.map((ch) => GLYPHS[ch]);
  if (chars.length === 0 || glyphs.some((g) => g === undefined)) return null;
  const glyphCols = 3 * scale;
  const width = chars.length * glyphCols + (chars.length - 1);
  if (width > maxCols) return null;
  const rows: string[] = [];
  for (let r = 0; r < GLYPH_ROWS; r++) {
    rows.push(
      glyphs
        .map((g) => [...g!.split('|')[r]].map((c) => (c === '#' ? '█' : ' ').repeat(scale)).join(''))
        .join(' '),
    );
  }
  return rows;
}

/**
 * The largest rendering of `text` within `maxCols` x `maxRows`: on one line, or one word per
 * line for codes made of words ("apple-river-stone"). Null when nothing fits.
 */
export function bigTextFitting(text: string, maxCols: number, maxRows = GLYPH_ROWS): string[] | null {
  const words = text.split(/[-\s]+/).filter(Boolean);
  for (const scale of [2, 1]) {
    const whole = bigText(text, maxCols, scale);
    if (whole && whole.length <= maxRows) return whole;
    const stackedRows = words.length * GLYPH_ROWS + (words.length - 1);
    if (words.length > 1 && stackedRows <= maxRows) {
      const parts = words.map((w) => bigText(w, maxCols, scale));
      if (parts.every((p) => p !== null)) return parts.flatMap((p, i) => (i === 0 ? p! : ['', ...p!]));
    }
  }
  return null;
}
