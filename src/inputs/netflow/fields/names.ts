/**
 * Information-element name -> `netflow.*` document key (NETFLOW.md 3.3).
 *
 * Must produce byte-for-byte the keys Filebeat's netflow input emits, so the rules below mirror
 * its behaviour, odd cases included (`reverseVRFname` -> `reverse_vr_fname`, `IPv4Foo` ->
 * `i_pv4_foo`). Behaviour reproduced from elastic/beats
 * x-pack/filebeat/input/netflow/convert/case.go (Elastic License 2.0; no code taken).
 */

/** Names whose registered spelling breaks the camel-case rules. */
const EXCEPTIONS: ReadonlyMap<string, string> = new Map([['VRFname', 'vrf_name']]);

export function toKey(name: string): string {
  const exception = EXCEPTIONS.get(name);
  if (exception !== undefined) return exception;
  // Already snake-cased names (Gigamon, `conntrack_id`, `FW_Rule`) would gain stray underscores.
  if (name.includes('_')) return name.toLowerCase();

  // One element per code point, so "the last character appended" is a whole character.
  const out: string[] = [];
  // Starting at 1 keeps a leading capital from producing a leading `_`; the price is that a
  // leading two-capital acronym splits (`IPv4Foo` -> `i_pv4_foo`), exactly as Filebeat does.
  let capitals = 1;
  for (const ch of name) {
    const lower = ch.toLowerCase();
    if (lower !== ch) {
      if (capitals === 0) out.push('_');
      capitals++;
      out.push(lower);
    } else {
      // After a run of 3+ capitals the last one starts the next word: `NATSource` -> `nat_source`.
      if (capitals > 2) out.splice(out.length - 1, 0, '_');
      capitals = 0;
      out.push(ch);
    }
  }
  return out.join('');
}
