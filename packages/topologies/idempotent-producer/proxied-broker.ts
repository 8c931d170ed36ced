/**
 * The dedicated broker with the fault proxy in front of it: the proxy forwards to the broker's
 * own port, and the broker advertises the proxy's, so clients that bootstrap through the proxy
 * stay behind it for every request (metadata names the proxy as the partition leader).
 */
import { DedicatedBroker, type DedicatedBrokerOptions, freePorts } from './broker.ts';
import { FaultInjectingProxy, type FaultPlan } from './tcp-proxy.ts';

export interface ProxiedBroker {
  readonly broker: DedicatedBroker;
  readonly proxy: FaultInjectingProxy;
  /** Through the proxy: what clients bootstrap from. */
  readonly bootstrapServers: string[];
  /** Stops the broker (deleting its data) and the proxy, whatever happens to either. */
  close(): Promise<void>;
}

export async function startProxiedBroker(
  options: { faults?: FaultPlan } & Omit<
    DedicatedBrokerOptions,
    'advertisedPort' | 'port' | 'controllerPort'
  > = {},
): Promise<ProxiedBroker> {
  const { faults, ...brokerOptions } = options;
  const [port, controllerPort] = await freePorts(2);
  const proxy = await FaultInjectingProxy.start({
    target: { host: '127.0.0.1', port: port! },
    ...(faults ? { faults } : {}),
  });
  let broker: DedicatedBroker;
  try {
    broker = await DedicatedBroker.start({
      ...brokerOptions,
      advertisedPort: proxy.port,
      port,
      controllerPort,
    });
  } catch (error) {
    await proxy.close();
    throw error;
  }
  return {
    broker,
    proxy,
    bootstrapServers: [proxy.address],
    async close() {
      try {
        await broker.stop();
      } finally {
        await proxy.close();
      }
    },
  };
}
