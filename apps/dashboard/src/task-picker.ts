/**
 * The New run form's task: a select of the coordinator's tasks (GET /api/tasks) with the chosen
 * one's shape, classes and evaluation spelled out, and a small control that registers a folder
 * inside the coordinator's --data-root (POST /api/tasks). The select replaces the schema's free
 * text field for `task`, so a run can only name a task the coordinator has.
 */
import { ApiError, type Api, type TaskSummary } from './api.ts';
import { plainRefusal, taskOptionText, taskSummaryText } from './task-format.ts';

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Record<string, unknown> = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  const node: HTMLElementTagNameMap[K] = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

export class TaskPicker {
  readonly section: HTMLElement;
  private readonly select = el('select', { id: 'setting-task', name: 'task' });
  private readonly summary = el('p', { id: 'task-summary', className: 'field-help' });
  private readonly dir = el('input', { id: 'task-dir', type: 'text', maxLength: 1024, placeholder: 'e.g. shapes' });
  private readonly name = el('input', { id: 'task-name', type: 'text', maxLength: 40, placeholder: 'the folder name' });
  private readonly outcome = el('p', { id: 'task-register-outcome', hidden: true, role: 'status' });
  private list: TaskSummary[] = [];
  private defaultName = 'fashion-mnist';

  constructor(private readonly api: () => Api | null) {
    const register = el('button', { type: 'button', className: 'secondary', textContent: 'Register' });
    register.addEventListener('click', () => void this.register());
    // The control sits inside the New run form: Enter registers the folder, it does not create a run.
    for (const input of [this.dir, this.name]) {
      input.addEventListener('keydown', (e) => {
        if (e.key !== 'Enter') return;
        e.preventDefault();
        void this.register();
      });
    }
    this.select.addEventListener('change', () => {
      this.select.dataset.touched = '1';
      this.showSummary();
    });
    this.section = el('div', { id: 'task-field', className: 'task-field' },
      el('label', { htmlFor: this.select.id, textContent: 'task' }), this.select, this.summary,
      el('details', { id: 'task-register' },
        el('summary', { textContent: 'Register a folder' }),
        el('p', { className: 'field-help', textContent: 'A folder of IDX files, or of images with one subfolder per class, inside the coordinator\'s data root (--data-root); give its path relative to that root.' }),
        el('div', { className: 'register-row' },
          el('div', {}, el('label', { htmlFor: this.dir.id, textContent: 'folder' }), this.dir),
          el('div', {}, el('label', { htmlFor: this.name.id, textContent: 'name (optional)' }), this.name),
          register),
        this.outcome));
  }

  /** The chosen task's name ('' before the list has loaded: the server's default then applies). */
  get value(): string {
    return this.select.value;
  }

  find(name: string): TaskSummary | undefined {
    return this.list.find((t) => t.name === name);
  }

  /** The schema's default task is selected first. */
  setDefault(name: string): void {
    this.defaultName = name;
    if (this.find(name) && !this.select.dataset.touched) this.select.value = name;
    this.showSummary();
  }

  async load(select?: string): Promise<void> {
    const api = this.api();
    if (!api) return;
    const before = this.select.value;
    this.list = await api.listTasks();
    this.select.replaceChildren(...this.list.map((t) => new Option(taskOptionText(t), t.name)));
    const wanted = select ?? (this.find(before) ? before : this.defaultName);
    if (this.find(wanted)) this.select.value = wanted;
    this.showSummary();
  }

  private showSummary(): void {
    const task = this.find(this.select.value);
    this.summary.textContent = task ? taskSummaryText(task) : '';
    this.syncStage2(task);
  }

  /**
   * A task without a generator runs Stage 1 only, and the coordinator refuses Stage 2 asked for
   * outright: the form's stage2.enabled box is unticked and locked for it (the reason as its
   * title), and given back as it was when another task is chosen.
   */
  private syncStage2(task: TaskSummary | undefined): void {
    const box = document.getElementById('setting-stage2-enabled') as HTMLInputElement | null;
    if (!box) return;
    if (task && task.generator === null) {
      if (!box.disabled) box.dataset.before = String(box.checked);
      box.checked = false;
      box.disabled = true;
      box.title = `Stage 1 only: ${task.stage2Off ?? 'no generator'}`;
    } else if (box.disabled) {
      box.disabled = false;
      box.checked = box.dataset.before !== 'false';
      box.title = '';
    }
  }

  private async register(): Promise<void> {
    const api = this.api();
    const dir = this.dir.value.trim();
    if (!api) return;
    if (!dir) return this.say('Give the folder to register, relative to the data root.', true);
    this.say('Reading the folder...', false);
    try {
      const task = await api.registerTask(dir, this.name.value.trim() || undefined);
      this.select.dataset.touched = '1';
      await this.load(task.name);
      this.dir.value = '';
      this.name.value = '';
      this.say(`Registered ${taskSummaryText(task)}`, false);
    } catch (err) {
      this.say(`Not registered: ${refusalText(err)}`, true);
    }
  }

  private say(text: string, isError: boolean): void {
    this.outcome.hidden = false;
    this.outcome.textContent = text;
    this.outcome.className = isError ? 'error' : 'field-help';
  }
}

/** The coordinator's refusal in plain words (task-format.ts), or why it could not answer. */
function refusalText(err: unknown): string {
  if (err instanceof ApiError) return plainRefusal(err.message);
  return `the coordinator could not be reached (${(err as Error).message})`;
}
