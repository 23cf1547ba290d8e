/**
 * Installing flowship's index templates (`flowship setup`, and `run` on first contact) and
 * reporting on them (`flowship test output`).
 *
 * A template is ours when its `_meta.managed_by` is `flowship`; it is current when its `version`
 * and its `_meta.fingerprint` (a digest of the body: custom definitions change it) equal the
 * ones this build would install. Installing is idempotent: a current template is left
 * alone, a missing or older one is put, and a newer one (from a newer flowship) is left alone
 * too, so that two versions side by side do not overwrite each other back and forth. A
 * template of the same name that flowship did not install (the Elastic integration's, installed
 * by Fleet) is never replaced unless asked (`--overwrite`): it maps the same documents.
 */
import { FlowshipError } from '../../util/errors.ts';
import { authMessage, type Connection } from './connection.ts';
import type { IndexTemplate } from './templates.ts';

/** What was found in the cluster for one template. */
export type TemplateState = 'current' | 'missing' | 'outdated' | 'newer' | 'foreign';

/** What `installTemplates` did with one template. */
export type TemplateAction = 'created' | 'updated' | 'unchanged' | 'kept-newer' | 'kept-foreign';

export interface TemplateReport {
  name: string;
  state: TemplateState;
  /** The installed template's version, when there is one. */
  installedVersion?: number;
  /** The version this build installs. */
  version: number;
}

interface GetTemplatesReply {
  index_templates?: Array<{
    name: string;
    index_template: { version?: number; _meta?: { managed_by?: string; fingerprint?: string } };
  }>;
}

function templateVersion(template: IndexTemplate): number {
  const version = (template.body as { version?: unknown }).version;
  return typeof version === 'number' ? version : 0;
}

function templateFingerprint(template: IndexTemplate): string | undefined {
  return (template.body as { _meta?: { fingerprint?: string } })._meta?.fingerprint;
}

/** The state of each template in the cluster. */
export async function templateStates(
  connection: Connection,
  templates: readonly IndexTemplate[],
): Promise<TemplateReport[]> {
  const reports: TemplateReport[] = [];
  for (const template of templates) {
    const version = templateVersion(template);
    const reply = await connection.request<GetTemplatesReply>('GET', `/_index_template/${template.name}`);
    if (reply.status === 404) {
      reports.push({ name: template.name, state: 'missing', version });
      continue;
    }
    if (reply.status === 401 || reply.status === 403)
      throw new FlowshipError('FLOWSHIP_OUTPUT', authMessage(reply));
    if (reply.status !== 200) {
      throw new FlowshipError(
        'FLOWSHIP_OUTPUT',
        `GET /_index_template/${template.name} answered ${reply.status}: ${JSON.stringify(reply.body)}`,
      );
    }
    const found = reply.body.index_templates?.find((t) => t.name === template.name)?.index_template;
    const installedVersion = found?.version;
    const state: TemplateState =
      found === undefined
        ? 'missing'
        : found._meta?.managed_by !== 'flowship'
          ? 'foreign'
          : installedVersion === version && found._meta?.fingerprint === templateFingerprint(template)
            ? 'current'
            : (installedVersion ?? 0) > version
              ? 'newer'
              : 'outdated';
    reports.push(
      installedVersion === undefined
        ? { name: template.name, state, version }
        : { name: template.name, state, installedVersion, version },
    );
  }
  return reports;
}

/**
 * Puts every template that is missing or older than this build's (or, with `overwrite`, every
 * template, whoever installed it). Returns what it did per template.
 */
export async function installTemplates(
  connection: Connection,
  templates: readonly IndexTemplate[],
  options: { overwrite?: boolean } = {},
): Promise<Array<{ name: string; action: TemplateAction }>> {
  const states = await templateStates(connection, templates);
  const done: Array<{ name: string; action: TemplateAction }> = [];
  for (const [i, template] of templates.entries()) {
    const { state } = states[i];
    if (options.overwrite !== true && (state === 'current' || state === 'newer' || state === 'foreign')) {
      const action = state === 'current' ? 'unchanged' : state === 'newer' ? 'kept-newer' : 'kept-foreign';
      done.push({ name: template.name, action });
      continue;
    }
    const reply = await connection.request('PUT', `/_index_template/${template.name}`, {
      json: template.body,
    });
    if (reply.status === 401 || reply.status === 403)
      throw new FlowshipError('FLOWSHIP_OUTPUT', authMessage(reply));
    if (reply.status !== 200) {
      throw new FlowshipError(
        'FLOWSHIP_OUTPUT',
        `PUT /_index_template/${template.name} answered ${reply.status}: ${JSON.stringify(reply.body)}`,
      );
    }
    done.push({ name: template.name, action: state === 'missing' ? 'created' : 'updated' });
  }
  return done;
}
