/**
 * `${VAR}` expansion in configuration values, as Filebeat does it:
 *
 *   ${VAR}             the variable's value; an error when it is not set
 *   ${VAR:default}     the default when VAR is not set (the default may hold references itself)
 *   ${VAR:?message}    an error with this message when VAR is not set
 *   $${                a literal `${`
 *
 * A variable that is set to the empty string counts as set (os.LookupEnv semantics).
 */

/** A reference that could not be resolved, with its place in the expanded text. */
export interface ExpansionProblem {
  /** The reference as written, e.g. `${ES_API_KEY}`. */
  reference: string;
  /** Offset of the reference in the text that was expanded. */
  index: number;
  message: string;
}

export interface Expansion {
  /** The text with every reference replaced; an unresolved reference contributes nothing. */
  value: string;
  /** The text is exactly one reference, so its value may be typed (a number, a list...). */
  whole: boolean;
  problems: ExpansionProblem[];
}

/** True when `text` holds a reference or an escape, i.e. when expansion could change it. */
export function hasReference(text: string): boolean {
  return text.includes('${');
}

export function expandVariables(text: string, env: NodeJS.ProcessEnv): Expansion {
  const problems: ExpansionProblem[] = [];
  const value = expandRange(text, 0, text.length, env, problems);
  const whole = text.startsWith('${') && closingBrace(text, 2, text.length) === text.length - 1;
  return { value, whole, problems };
}

function expandRange(
  text: string,
  start: number,
  end: number,
  env: NodeJS.ProcessEnv,
  problems: ExpansionProblem[],
): string {
  let out = '';
  let i = start;
  while (i < end) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
    } else if (text.startsWith('${', i)) {
      const close = closingBrace(text, i + 2, end);
      if (close < 0) {
        const reference = text.slice(i, end);
        problems.push({ reference, index: i, message: 'unterminated ${ (write a literal ${ as $${)' });
        return out + reference;
      }
      out += resolveReference(text, i, close, env, problems);
      i = close + 1;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return out;
}

/** Index of the `}` that closes a reference whose body starts at `from`, or -1. */
function closingBrace(text: string, from: number, end: number): number {
  let depth = 0;
  for (let i = from; i < end; i++) {
    if (text[i] === '{') depth += 1;
    else if (text[i] === '}') {
      if (depth === 0) return i;
      depth -= 1;
    }
  }
  return -1;
}

function resolveReference(
  text: string,
  open: number,
  close: number,
  env: NodeJS.ProcessEnv,
  problems: ExpansionProblem[],
): string {
  const reference = text.slice(open, close + 1);
  const colon = text.indexOf(':', open + 2);
  const nameEnd = colon >= 0 && colon < close ? colon : close;
  const name = text.slice(open + 2, nameEnd).trim();
  if (name === '') {
    problems.push({ reference, index: open, message: `empty variable name in ${reference}` });
    return '';
  }
  const value = env[name];
  if (value !== undefined) return value;
  if (nameEnd === close) {
    problems.push({
      reference,
      index: open,
      message: `environment variable ${name} is not set (give a default with \${${name}:default})`,
    });
    return '';
  }
  if (text[nameEnd + 1] === '?') {
    const reason = text.slice(nameEnd + 2, close).trim();
    problems.push({
      reference,
      index: open,
      message: `environment variable ${name} is not set${reason === '' ? '' : `: ${reason}`}`,
    });
    return '';
  }
  return expandRange(text, nameEnd + 1, close, env, problems);
}
