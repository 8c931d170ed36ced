/**
 * What flows between KTable operators: the new value and the value it replaced, so that
 * downstream aggregations can subtract the old and add the new. null is absence (a tombstone).
 */
export interface Change<V> {
  readonly newValue: V | null;
  readonly oldValue: V | null;
}
