import { OutboundPolicy } from '../../internal/handlers/outbound/index.js';
import { ChannelSender } from '../../internal/notify/index.js';

/** A channel sender for API tests that build the express app themselves (loopback allowed, no public URL). */
export function testChannelSender(): ChannelSender {
  return new ChannelSender({ policy: new OutboundPolicy([]) }, { webhookSecret: undefined, publicUrl: undefined, timeoutMs: 5000 });
}
