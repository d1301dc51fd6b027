import { createHash } from 'node:crypto';
import { type Request, type Response, Router } from 'express';
import { requireRole } from '../../../edge/http/auth.ts';
import { NoQuery } from '../../../edge/http/common-schemas.ts';
import { HttpProblem } from '../../../edge/http/problem.ts';
import { readJson } from '../../../edge/http/json-body.ts';
import { parse, pathId } from '../../../edge/http/validate.ts';
import type { PlacementMode } from '../application/ports/order-persistence.port.ts';
import type { Actor } from '../application/actor.ts';
import type { OrderProps } from '../domain/order.ts';
import type { OrderUseCases } from '../application/order-use-cases.ts';
import { IdempotencyKey, ListOrdersQuery, ModeQuery, PlaceOrderBody } from './order.schemas.ts';

const toJson = ({ version: _v, rejectionReason, ...o }: OrderProps) => ({
  ...o,
  ...(rejectionReason ? { rejectionReason } : {}),
  createdAt: o.createdAt.toISOString(),
  updatedAt: o.updatedAt.toISOString(),
});

/** The guard below admits customers and admins only; a service token never reaches the use cases. */
const actor = (req: Request): Actor => {
  const { id, role } = req.principal!;
  if (role === 'service') throw new HttpProblem(403, 'FORBIDDEN', 'this route is for customer or admin only');
  return { id, role };
};

/**
 * The mode for this request: `?mode=` wins, then `Prefer: respond-async` (RFC 7240), then the configured
 * default. Returns whether a Prefer was honoured, for `Preference-Applied`.
 */
function chooseMode(req: Request, fallback: PlacementMode): { mode: PlacementMode; preferApplied: boolean } {
  const { mode } = parse(ModeQuery, req.query, 'query');
  if (mode) return { mode, preferApplied: false };
  const prefersAsync = (req.get('prefer') ?? '')
    .split(',')
    .some((p) => p.split(';')[0]!.trim().toLowerCase() === 'respond-async');
  return prefersAsync ? { mode: 'async', preferApplied: true } : { mode: fallback, preferApplied: false };
}

function sendOrder(res: Response, status: number, order: OrderProps) {
  res.status(status).json(toJson(order));
}

/** Driving adapter: the contract's /api/v1/orders routes, for customers and admins. */
export function orderRouter(
  useCases: Pick<OrderUseCases, 'placeOrder' | 'getOrder' | 'listOrders' | 'cancelOrder'>,
  defaultMode: PlacementMode,
): Router {
  const router = Router();
  router.use(requireRole('customer', 'admin'));

  router.post('/', async (req, res) => {
    const body = parse(PlaceOrderBody, await readJson(req), 'body');
    const key = parse(IdempotencyKey, req.get('idempotency-key'), 'header');
    const { mode, preferApplied } = chooseMode(req, defaultMode);
    const requestHash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const placed = await useCases.placeOrder({
      customerId: actor(req).id,
      items: body.items,
      mode,
      correlationId: req.id,
      ...(key ? { idempotency: { key, requestHash } } : {}),
    });
    if (preferApplied && placed.answer === 'async') res.set('Preference-Applied', 'respond-async');
    res.location(`${req.baseUrl}/${placed.order.id}`);
    sendOrder(res, placed.answer === 'async' ? 202 : 201, placed.order);
  });

  router.get('/', async (req, res) => {
    const query = parse(ListOrdersQuery, req.query, 'query');
    const page = await useCases.listOrders({
      actor: actor(req),
      status: query.status,
      limit: query.limit,
      after: query.cursor,
    });
    res.json({ items: page.items.map(toJson), nextCursor: page.nextCursor });
  });

  router.get('/:id', async (req, res) => {
    parse(NoQuery, req.query, 'query');
    const id = pathId(req);
    sendOrder(res, 200, await useCases.getOrder(id, actor(req)));
  });

  router.post('/:id/cancel', async (req, res) => {
    const id = pathId(req);
    const { mode } = chooseMode(req, defaultMode);
    const cmd = { orderId: id, actor: actor(req), mode, correlationId: req.id };
    sendOrder(res, 200, await useCases.cancelOrder(cmd));
  });

  return router;
}
