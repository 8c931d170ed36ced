export { type AsyncSerde, isAsyncSerde } from './async-serde.ts';
export type { JsonSerdeOptions } from './primitives.ts';
export type { Deserializer, Serde, SerdeType, Serializer } from './serde.ts';
export { Serdes } from './serdes.ts';
export { SerializationException } from './serialization-exception.ts';
export {
  SessionWindowedSerde,
  TimeWindowedSerde,
  UNBOUNDED_WINDOW_END,
  type Window,
  type Windowed,
} from './windowed.ts';
