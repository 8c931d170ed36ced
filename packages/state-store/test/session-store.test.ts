import { describeSessionStore } from './suites/session-store-suite.ts';
import { backends } from './support/backends.ts';

for (const backend of backends) describeSessionStore(backend.name, (options) => backend.session(options));
