export { murmur2, toPositive } from './murmur2.ts';
export { partitionForKey } from './partitioner.ts';
