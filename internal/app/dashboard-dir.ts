import { existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder the dashboard is built into (`dist/web`, by `vite build`). The API runs from sources
 * (`tsx cmd/api/main.ts`: this file is `internal/app/`) or compiled (`dist/internal/app/`), from the repository or
 * from an image's working directory, so the first of these that holds a build wins. When none does, the working
 * directory's `dist/web` is served: `make dev` runs there and builds while the API starts, and until the build
 * lands `/ui/` answers how to build it.
 */
export function findDashboardDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // Compiled, this file is dist/internal/app/; from sources, internal/app/. Both are two levels below the root.
  const root = resolve(here, '../..');
  const candidates = [
    resolve(process.cwd(), 'dist/web'),
    basename(root) === 'dist' ? join(root, 'web') : join(root, 'dist/web'),
  ];
  const built = candidates.find((dir) => existsSync(join(dir, 'index.html')));
  return built ?? (candidates[0] as string);
}
