import { Router } from 'express';
import { requireRole } from '../../../adapters/http/auth.ts';
import { PathId } from '../../../adapters/http/common-schemas.ts';
import { parse } from '../../../adapters/http/validate.ts';
import { createProduct } from '../application/use-cases/create-product.use-case.ts';
import { deleteProduct } from '../application/use-cases/delete-product.use-case.ts';
import { getProduct } from '../application/use-cases/get-product.use-case.ts';
import { listProducts } from '../application/use-cases/list-products.use-case.ts';
import type { ProductDependencies } from '../application/use-cases/product-context.ts';
import { updateProduct } from '../application/use-cases/update-product.use-case.ts';
import type { ProductProps } from '../domain/product.ts';
import { CreateProductBody, IfMatch, ListProductsQuery, UpdateProductBody } from './product.schemas.ts';

const toJson = (p: ProductProps) => ({
  ...p,
  createdAt: p.createdAt.toISOString(),
  updatedAt: p.updatedAt.toISOString(),
});
const etag = (p: ProductProps) => `"${p.version}"`;

/** Driving adapter: the contract's /api/v1/products routes. Reads are public, writes are for admins. */
export function productRouter(deps: ProductDependencies): Router {
  const router = Router();

  router.get('/', async (req, res) => {
    const query = parse(ListProductsQuery, req.query, 'query');
    const page = await listProducts(deps, { limit: query.limit, after: query.cursor, q: query.q });
    res.json({ items: page.items.map(toJson), nextCursor: page.nextCursor });
  });

  router.get('/:id', async (req, res) => {
    const { id } = parse(PathId, req.params, 'path');
    const product = await getProduct(deps, id);
    res.set('ETag', etag(product)).json(toJson(product));
  });

  router.post('/', requireRole('admin'), async (req, res) => {
    const body = parse(CreateProductBody, req.body, 'body');
    const product = await createProduct(deps, body, req.id);
    res.status(201).location(`${req.baseUrl}/${product.id}`).set('ETag', etag(product)).json(toJson(product));
  });

  router.patch('/:id', requireRole('admin'), async (req, res) => {
    const { id } = parse(PathId, req.params, 'path');
    const expectedVersion = parse(IfMatch, req.get('if-match'), 'header');
    const changes = parse(UpdateProductBody, req.body, 'body');
    const product = await updateProduct(deps, id, changes, expectedVersion, req.id);
    res.set('ETag', etag(product)).json(toJson(product));
  });

  router.delete('/:id', requireRole('admin'), async (req, res) => {
    const { id } = parse(PathId, req.params, 'path');
    await deleteProduct(deps, id, req.id);
    res.status(204).end();
  });

  return router;
}
