/**
 * "Did you mean ...?" for misspelt keys and values: the candidate closest to what was written,
 * when one is obviously meant.
 */

/** `maxMessageSize`, `max-message-size` and `Max_Message_Size` all compare as `max_message_size`. */
function normalize(word: string): string {
  return word
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/-/g, '_')
    .toLowerCase();
}

/** Optimal string alignment distance: Levenshtein plus transposition of two adjacent characters. */
function distance(a: string, b: string): number {
  const rows: number[][] = [];
  for (let i = 0; i <= a.length; i++) rows.push([i]);
  for (let j = 1; j <= b.length; j++) rows[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d = Math.min(d, rows[i - 2][j - 2] + 1);
      rows[i][j] = d;
    }
  }
  return rows[a.length][b.length];
}

/**
 * The candidate `word` most likely stands for: equal up to case and separators, a prefix of it
 * (`max_message` -> `max_message_size`), or within a small edit distance that grows with length.
 */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = normalize(word);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const c = normalize(candidate);
    if (c === w) return candidate;
    let d = distance(w, c);
    if (w.length >= 4 && c.startsWith(w)) d = Math.min(d, 1);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  const allowed = w.length <= 3 ? 1 : w.length <= 6 ? 2 : 3;
  return bestDistance <= allowed ? best : undefined;
}
