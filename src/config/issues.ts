/**
 * zod issues as configuration problems: placed at the key or value they are about, and worded for
 * someone editing YAML. A message never includes a configured value unless it is a value of a
 * closed set (an enum, a duration, a size); credentials never are.
 */
import type { z } from 'zod';
import { describeType } from './schema.ts';
import { closest } from './suggest.ts';
import type { Locations, Problem } from './tree.ts';

const EXPECTED: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'an integer',
  boolean: 'true or false',
  array: 'a list',
  object: 'a map',
  record: 'a map',
};

/** `issues` from `safeParse(tree, { reportInput: true })`. */
export function problemFromIssue(issue: z.core.$ZodIssue, locations: Locations): Problem {
  const path = issue.path;
  // An unknown key, or a setting that is not written at all (missing, or a default that clashes):
  // point at the key, or at the section that lacks it. Otherwise at the value.
  const atKey = (issue.code === 'custom' && issue.params?.at === 'key') || !locations.has(path);
  return {
    origin: atKey ? locations.key(path) : locations.value(path),
    path,
    message: message(issue, issue.input),
  };
}

function message(issue: z.core.$ZodIssue, input: unknown): string {
  switch (issue.code) {
    case 'invalid_type':
      if (input === undefined) return 'is required';
      return `expected ${EXPECTED[issue.expected] ?? issue.expected}, got ${describeType(input)}`;
    case 'invalid_value': {
      const values = issue.values.map(String);
      if (typeof input !== 'string') return `must be one of ${values.join(', ')}`;
      const suggestion = closest(input, values);
      return `'${input}' is not one of ${values.join(', ')}${suggestion === undefined ? '' : `; did you mean '${suggestion}'?`}`;
    }
    case 'too_small':
      if (issue.origin === 'array') return `must list at least ${issue.minimum} item(s)`;
      if (issue.origin === 'string') return 'must not be empty';
      return `must be ${issue.inclusive ? 'at least' : 'greater than'} ${issue.minimum}`;
    case 'too_big':
      if (issue.origin === 'array') return `must list at most ${issue.maximum} item(s)`;
      return `must be ${issue.inclusive ? 'at most' : 'less than'} ${issue.maximum}`;
    case 'invalid_union': {
      if (issue.discriminator === undefined) return issue.message;
      const valid = (('options' in issue ? issue.options : undefined) ?? []).map(String).join(', ');
      const type =
        typeof input === 'object' && input !== null ? (input as Record<string, unknown>).type : input;
      if (type === undefined || type === null) return `is required (valid types: ${valid})`;
      if (typeof type !== 'string') return `expected one of ${valid}, got ${describeType(type)}`;
      return `unknown type '${type}' (valid types: ${valid})`;
    }
    default:
      return issue.message;
  }
}
