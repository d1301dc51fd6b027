import { Router } from 'express';
import { requireRole } from '../../../edge/http/auth.ts';
import { readJson } from '../../../edge/http/json-body.ts';
import { NoQuery } from '../../../edge/http/common-schemas.ts';
import { parse } from '../../../edge/http/validate.ts';
import type { ProductFacade } from '../contract.ts';
import { OrderIdPath, ReserveBody } from './reservation.schemas.ts';

/**
 * Driving adapter: the product service's internal API, which the order service's HttpProductCatalog calls in
 * sync mode. Mounted at /internal/v1/reservations, never behind the public gateway, and only for callers with
 * a `service` token. Both calls are idempotent by order id (the use cases are), so a caller may retry them.
 */
export function reservationRouter(facade: ProductFacade): Router {
  const router = Router();
  router.use(requireRole('service'));

  router.post('/', async (req, res) => {
    parse(NoQuery, req.query, 'query');
    const { orderId, items } = parse(ReserveBody, await readJson(req), 'body');
    const outcome = await facade.reserveStock({ orderId, items, correlationId: req.id });
    res.status(200).json(outcome);
  });

  router.post('/:orderId/release', async (req, res) => {
    parse(NoQuery, req.query, 'query');
    const { orderId } = parse(OrderIdPath, req.params, 'path');
    await facade.releaseStock({ orderId, correlationId: req.id });
    res.status(204).end();
  });

  return router;
}
