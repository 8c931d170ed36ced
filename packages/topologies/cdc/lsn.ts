/**
 * PostgreSQL log sequence numbers: `16/B374D848` as PostgreSQL prints them, and as the 64-bit
 * integer Debezium puts in `source.lsn`.
 */

export function parseLsn(text: string): bigint {
  const slash = text.indexOf('/');
  if (slash < 0) throw new Error(`not a PostgreSQL LSN: "${text}" (expected the form 16/B374D848)`);
  return (BigInt(`0x${text.slice(0, slash)}`) << 32n) | BigInt(`0x${text.slice(slash + 1)}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`;
}
