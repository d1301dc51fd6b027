/**
 * What the rest of the system may use of the order module: the payloads of the events it publishes.
 * Nothing calls the order module directly except its own HTTP adapter.
 */
export type {
  OrderCancelledPayload,
  OrderConfirmedPayload,
  OrderPlacedPayload,
  OrderRejectedPayload,
} from './domain/order.events.ts';
export { OrderEventTypes } from './domain/order.events.ts';
