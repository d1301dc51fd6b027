import { type Request, Router } from 'express';
import { requireRole } from '../../../edge/http/auth.ts';
import { NoQuery } from '../../../edge/http/common-schemas.ts';
import { readJson } from '../../../edge/http/json-body.ts';
import { answerReadAfter, READ_AFTER_HEADER } from '../../../edge/http/request-context.ts';
import { sendJsonText } from '../../../edge/http/json-text.ts';
import { parse, pathId, refuseQuery } from '../../../edge/http/validate.ts';
import type { ProductUseCases } from '../application/product-use-cases.ts';
import type { ProductProps } from '../domain/product.ts';
import {
  CreateProductBody,
  IfMatch,
  ListProductsQuery,
  ReadAfterHeader,
  UpdateProductBody,
} from './product.schemas.ts';

const toJson = (p: ProductProps) => ({
  ...p,
  createdAt: p.createdAt.toISOString(),
  updatedAt: p.updatedAt.toISOString(),
});
const etag = (p: { version: number }) => `"${p.version}"`;
/** The write position the client echoes to read its own writes (read replicas; 400 when malformed). */
const readAfter = (req: Request) => parse(ReadAfterHeader, req.get(READ_AFTER_HEADER), 'header');

/** Driving adapter: the contract's /api/v1/products routes. Reads are public, writes are for admins. */
export function productRouter(
  useCases: Pick<ProductUseCases, 'createProduct' | 'updateProduct' | 'deleteProduct' | 'getProduct' | 'listProducts'>,
): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const query = parse(ListProductsQuery, req.query, 'query');
    const page = await useCases.listProducts({
      limit: query.limit,
      after: query.cursor,
      q: query.q,
      readAfter: readAfter(req),
    });
    res.json({ items: page.items.map(toJson), nextCursor: page.nextCursor });
  });

  // The hot read: the product's JSON document comes from the cache as it is sent.
  router.get('/:id', async (req, res) => {
    refuseQuery(req);
    const id = pathId(req);
    const product = await useCases.getProduct(id, readAfter(req));
    res.setHeader('ETag', etag(product));
    sendJsonText(req, res, product.json);
  });

  router.post('/', requireRole('admin'), async (req, res) => {
    parse(NoQuery, req.query, 'query');
    const body = parse(CreateProductBody, await readJson(req), 'body');
    const product = await useCases.createProduct(body, req.id);
    answerReadAfter(res);
    res.status(201).location(`${req.baseUrl}/${product.id}`).set('ETag', etag(product)).json(toJson(product));
  });

  router.patch('/:id', requireRole('admin'), async (req, res) => {
    parse(NoQuery, req.query, 'query');
    const id = pathId(req);
    const expectedVersion = parse(IfMatch, req.get('if-match'), 'header');
    const changes = parse(UpdateProductBody, await readJson(req), 'body');
    const product = await useCases.updateProduct(id, changes, expectedVersion, req.id);
    answerReadAfter(res);
    res.set('ETag', etag(product)).json(toJson(product));
  });

  router.delete('/:id', requireRole('admin'), async (req, res) => {
    parse(NoQuery, req.query, 'query');
    const id = pathId(req);
    await useCases.deleteProduct(id, req.id);
    answerReadAfter(res);
    res.status(204).end();
  });

  return router;
}
