/**
 * Admin REST for tasks (tasks/task-catalog.ts):
 *   GET  /api/tasks                       every task: name, shape, classes, source, image counts, who evaluates
 *   POST /api/tasks { dir, name? }        registers the IDX or image folder `dir` (inside --data-root) -> 201 its summary
 * A folder outside the data root, a malformed dataset or a taken name is refused in our words
 * (400 FEDTSA_ERR_BAD_DATASET, naming the numbers and the fix).
 */
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { FieldError } from '../field-errors.ts';
import type { TaskCatalog } from '../tasks/task-catalog.ts';
import { refuse } from './strict.ts';

const RegisterBody = Type.Object({
  dir: Type.String({ minLength: 1, maxLength: 1024 }),
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 40 })),
}, { additionalProperties: false });

export function registerTaskRoutes(app: FastifyInstance, tasks: TaskCatalog): void {
  app.get('/api/tasks', async () => tasks.list());

  app.post('/api/tasks', { schema: { body: RegisterBody } }, async (req, reply) => {
    const body = req.body as Static<typeof RegisterBody>;
    try {
      const entry = await tasks.register(body.dir, body.name);
      return reply.code(201).send(tasks.list().find((t) => t.name === entry.task.name));
    } catch (err) {
      // The loaders' and the catalog's messages name the numbers and the fix, never a path outside the root.
      return refuse(reply, 400, 'FEDTSA_ERR_BAD_DATASET', err instanceof FieldError ? err.message : `dir: ${(err as Error).message}`);
    }
  });
}
