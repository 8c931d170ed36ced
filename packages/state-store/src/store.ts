// The lifecycle every state store shares, whatever its shape (key-value, window, session) or
// backend (in-memory, SQLite).

export interface StateStore {
  readonly name: string;
  /** True when the contents survive a restart of the process (so restoration can start from a checkpoint). */
  readonly persistent: boolean;
  readonly isOpen: boolean;
  /** Make everything written so far durable. For SQLite this commits the task database's open write transaction. */
  flush(): void;
  close(): void;
}

export function storeClosedError(name: string): Error {
  return new Error(`State store "${name}" is closed: it cannot be read or written after close()`);
}
