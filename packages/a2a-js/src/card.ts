import type { A2AAgentCard } from '@a2a-bus/core';
import { BUS_PROTOCOL_BINDING, BUS_PROTOCOL_VERSION, formatBusUrl, type BusInterfaceUrl } from './binding.js';

/**
 * The card with the bus interface first in `supportedInterfaces` (A2A: the first entry is
 * preferred) and streaming declared, which the binding always provides.
 */
export function withBusInterface(card: A2AAgentCard, url: BusInterfaceUrl): A2AAgentCard {
  const others = ((card.supportedInterfaces as unknown[] | undefined) ?? []).filter(
    (i) => (i as { protocolBinding?: string }).protocolBinding !== BUS_PROTOCOL_BINDING,
  );
  const capabilities = { ...(card.capabilities as object | undefined), streaming: true };
  return {
    ...card,
    supportedInterfaces: [{ url: formatBusUrl(url), protocolBinding: BUS_PROTOCOL_BINDING, protocolVersion: BUS_PROTOCOL_VERSION }, ...others],
    capabilities,
  };
}
