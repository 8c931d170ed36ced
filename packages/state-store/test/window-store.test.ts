import { describeWindowStore } from './suites/window-store-suite.ts';
import { backends } from './support/backends.ts';

for (const backend of backends) describeWindowStore(backend.name, (options) => backend.window(options));
