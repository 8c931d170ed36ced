/** Raised while a topology is being defined or built: a mistake in the topology itself. */
export class TopologyException extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TopologyException';
  }
}
