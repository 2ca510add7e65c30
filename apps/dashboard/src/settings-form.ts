/**
 * The new-run form, built from the coordinator's settings schema (GET /api/settings-schema),
 * so that every setting the server accepts is here with its bounds, default and description,
 * and a new setting needs no dashboard change.
 */
import type { JsonSchema } from './api.ts';

/**
 * Settings an operator rarely changes are left to their defaults (the API still takes them);
 * `task` has its own field, a select of the coordinator's tasks (task-picker.ts).
 */
const HIDDEN = new Set(['dataset', 'task']);

function fieldFor(key: string, path: string, schema: JsonSchema): HTMLElement {
  const wrap = document.createElement('div');
  const id = `setting-${path.replaceAll('.', '-')}`;
  const label = document.createElement('label');
  label.htmlFor = id;
  label.textContent = key;
  let input: HTMLInputElement | HTMLSelectElement;
  const options = schema.anyOf?.map((s) => s.const).filter((v): v is string => typeof v === 'string');
  if (options && options.length > 0) {
    input = document.createElement('select');
    for (const o of options) input.add(new Option(o, o, false, o === schema.default));
  } else if (schema.type === 'boolean') {
    input = document.createElement('input');
    input.type = 'checkbox';
    input.checked = schema.default === true;
    label.className = 'check';
    label.textContent = '';
    label.append(input, ` ${key}`);
  } else if (schema.type === 'string') {
    input = document.createElement('input');
    input.type = 'text';
    if (schema.default !== undefined) input.value = String(schema.default);
  } else {
    input = document.createElement('input');
    input.type = 'number';
    input.step = schema.type === 'integer' ? '1' : 'any';
    if (schema.minimum !== undefined) input.min = String(schema.minimum);
    if (schema.maximum !== undefined) input.max = String(schema.maximum);
    if (schema.default !== undefined) input.value = String(schema.default);
    input.required = true;
  }
  input.id = id;
  input.dataset.path = path;
  input.dataset.kind = options || schema.type === 'string' ? 'string' : schema.type ?? 'number';
  if (schema.type === 'boolean') wrap.append(label);
  else wrap.append(label, input);
  if (schema.description) {
    const help = document.createElement('p');
    help.className = 'field-help';
    help.textContent = schema.description;
    wrap.append(help);
  }
  return wrap;
}

export function renderSettingsForm(container: HTMLElement, schema: JsonSchema): void {
  container.replaceChildren();
  const render = (props: Record<string, JsonSchema>, prefix: string, into: HTMLElement) => {
    const fields = document.createElement('div');
    fields.className = 'fields';
    into.append(fields);
    for (const [key, sub] of Object.entries(props)) {
      if (HIDDEN.has(key)) continue;
      if (sub.type === 'object' && sub.properties) {
        const set = document.createElement('fieldset');
        const legend = document.createElement('legend');
        legend.textContent = key;
        set.append(legend);
        into.append(set);
        render(sub.properties, `${prefix}${key}.`, set);
      } else {
        fields.append(fieldFor(key, `${prefix}${key}`, sub));
      }
    }
  };
  render(schema.properties ?? {}, '', container);
}

/** The form's values as a nested settings object. */
export function readSettingsForm(container: HTMLElement): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const el of container.querySelectorAll<HTMLInputElement | HTMLSelectElement>('[data-path]')) {
    const path = (el.dataset.path as string).split('.');
    let target = out;
    for (const part of path.slice(0, -1)) target = (target[part] ??= {}) as Record<string, unknown>;
    const key = path[path.length - 1] as string;
    const kind = el.dataset.kind;
    target[key] = kind === 'boolean' ? (el as HTMLInputElement).checked : kind === 'string' ? el.value : Number(el.value);
  }
  return out;
}
