/**
 * What an instance tells the other members of its consumer group about itself, in the group
 * subscription's userData: which instance it is and where it serves interactive queries. Every
 * member's subscription is readable through the coordinator (DescribeGroups), so any instance
 * can map the current assignment to query addresses without a side channel.
 *
 * The format is versioned JSON, not Kafka Streams' binary SubscriptionInfo: the group already
 * speaks its own protocol name, so Java instances never join it and cannot misread the bytes.
 */
import { ConfigException } from '../config/streams-config.ts';

export interface SubscriptionInfo {
  /** Random per KafkaStreams object: tells this instance's own member apart from the others. */
  readonly instanceId: string;
  /** `host:port` of the instance's query endpoint, when it has one. */
  readonly applicationServer: string | undefined;
}

/** Where an instance serves interactive queries. */
export interface HostInfo {
  readonly host: string;
  readonly port: number;
}

const VERSION = 1;

export function encodeSubscriptionInfo(info: SubscriptionInfo): Buffer {
  const body: Record<string, unknown> = { v: VERSION, instanceId: info.instanceId };
  if (info.applicationServer !== undefined) body.applicationServer = info.applicationServer;
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** `undefined` for bytes another kind of member wrote (or none): such a member has no known address. */
export function decodeSubscriptionInfo(bytes: Buffer | undefined): SubscriptionInfo | undefined {
  if (bytes === undefined || bytes.length === 0) return undefined;
  let body: unknown;
  try {
    body = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const { v, instanceId, applicationServer } = body as Record<string, unknown>;
  if (typeof v !== 'number' || v < VERSION || typeof instanceId !== 'string') return undefined;
  return {
    instanceId,
    applicationServer: typeof applicationServer === 'string' ? applicationServer : undefined,
  };
}

/** Parses `host:port` (IPv6 hosts in brackets: `[::1]:8080`). */
export function parseHostInfo(text: string): HostInfo {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : Number.NaN;
  if (!m || !(port >= 1 && port <= 65_535)) {
    throw new ConfigException(
      `applicationServer "${text}" is not "host:port": give the address other instances reach this one's query endpoint at, e.g. "10.0.0.5:7070"`,
    );
  }
  return { host: (m[1] ?? m[2])!, port };
}

export function formatHostInfo(host: HostInfo): string {
  return host.host.includes(':') ? `[${host.host}]:${host.port}` : `${host.host}:${host.port}`;
}
