import { describeKeyValueStore } from './suites/key-value-store-suite.ts';
import { backends } from './support/backends.ts';

for (const backend of backends) describeKeyValueStore(backend.name, () => backend.keyValue());
