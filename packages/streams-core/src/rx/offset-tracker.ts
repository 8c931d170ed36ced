/**
 * Which offset of one partition may be committed, given the records delivered and the ones
 * acknowledged so far.
 *
 * Records are delivered in offset order (offsets increase, not always by one: transaction markers
 * and compaction leave gaps). They may be acknowledged in any order. The committable offset is the
 * next offset to read after the longest acknowledged prefix of the delivered records: an
 * unacknowledged record holds back the commit of every record after it, however many of those
 * are acknowledged. `outstanding` counts the records delivered and not yet in that prefix (the
 * unacknowledged ones and the acknowledged ones waiting behind them), which is what the receiver
 * bounds per partition.
 */
export class PartitionOffsets {
  /** Delivered offsets not yet in the acknowledged prefix, oldest first, from `#head` on. */
  #offsets: bigint[] = [];
  #acked: boolean[] = [];
  #head = 0;
  #last: bigint | undefined;
  #committable: bigint | undefined;

  /** Records delivered and not yet committable (unacknowledged, or acknowledged behind a gap). */
  get outstanding(): number {
    return this.#offsets.length - this.#head;
  }

  /** The last offset delivered, if any. */
  get lastDelivered(): bigint | undefined {
    return this.#last;
  }

  /** Next offset to read after the acknowledged prefix; undefined until the first record is acknowledged. */
  get committable(): bigint | undefined {
    return this.#committable;
  }

  /** Records a delivery; offsets must increase. */
  deliver(offset: bigint): void {
    if (this.#last !== undefined && offset <= this.#last) {
      throw new RangeError(
        `offset ${offset} delivered after ${this.#last}: deliveries must be in offset order`,
      );
    }
    this.#last = offset;
    this.#offsets.push(offset);
    this.#acked.push(false);
  }

  /**
   * Marks a delivered record acknowledged; true when this moved the committable offset.
   * Acknowledging an offset that is not outstanding (never delivered, or already committable)
   * changes nothing.
   */
  acknowledge(offset: bigint): boolean {
    const at = this.#find(offset);
    if (at < 0 || this.#acked[at]) return false;
    this.#acked[at] = true;
    if (at !== this.#head) return false;
    while (this.#head < this.#offsets.length && this.#acked[this.#head]) {
      this.#committable = this.#offsets[this.#head]! + 1n;
      this.#head++;
    }
    this.#compact();
    return true;
  }

  /** Index of `offset` among the outstanding records, or -1. */
  #find(offset: bigint): number {
    let lo = this.#head;
    let hi = this.#offsets.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = this.#offsets[mid]!;
      if (v === offset) return mid;
      if (v < offset) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }

  #compact(): void {
    if (this.#head === this.#offsets.length) {
      this.#offsets = [];
      this.#acked = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#offsets.length) {
      this.#offsets = this.#offsets.slice(this.#head);
      this.#acked = this.#acked.slice(this.#head);
      this.#head = 0;
    }
  }
}
