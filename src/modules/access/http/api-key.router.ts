import { Router } from 'express';
import { requireRole } from '../../../edge/http/auth.ts';
import { NoQuery } from '../../../edge/http/common-schemas.ts';
import { readJson } from '../../../edge/http/json-body.ts';
import { parse, pathId, refuseQuery } from '../../../edge/http/validate.ts';
import type { AccessUseCases } from '../application/access-use-cases.ts';
import type { ApiKeyProps } from '../domain/api-key.ts';
import { CreateApiKeyBody, ListApiKeysQuery, RevokeApiKeyBody, RollApiKeyBody } from './api-key.schemas.ts';

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A key as the API shows it: never its secret or its hash. */
export const apiKeyJson = (k: ApiKeyProps) => ({
  id: k.id,
  name: k.name,
  role: k.role,
  prefix: k.prefix,
  start: k.start,
  end: k.end,
  createdAt: k.createdAt.toISOString(),
  expiresAt: iso(k.expiresAt),
  revokedAt: iso(k.revokedAt),
  lastUsedAt: iso(k.lastUsedAt),
  rateLimitPerMinute: k.rateLimitPerMinute,
  graceUntil: iso(k.graceUntil),
  rolledTo: k.rolledTo,
});

/** Driving adapter: /api/v1/api-keys, for admins only. */
export function apiKeyRouter(useCases: AccessUseCases): Router {
  const router = Router();
  router.use(requireRole('admin'));

  router.get('/', async (req, res) => {
    const query = parse(ListApiKeysQuery, req.query, 'query');
    const page = await useCases.listApiKeys({ limit: query.limit, after: query.cursor });
    res.json({ items: page.items.map(apiKeyJson), nextCursor: page.nextCursor });
  });

  router.get('/:id', async (req, res) => {
    refuseQuery(req);
    res.json(apiKeyJson(await useCases.getApiKey(pathId(req))));
  });

  router.post('/', async (req, res) => {
    parse(NoQuery, req.query, 'query');
    const body = parse(CreateApiKeyBody, await readJson(req), 'body');
    const issued = await useCases.createApiKey(body);
    res
      .status(201)
      .location(`${req.baseUrl}/${issued.key.id}`)
      .set('Cache-Control', 'no-store')
      .json({ ...apiKeyJson(issued.key), secret: issued.secret });
  });

  router.post('/:id/revoke', async (req, res) => {
    parse(NoQuery, req.query, 'query');
    const id = pathId(req);
    parse(RevokeApiKeyBody, await readJson(req), 'body');
    res.json(apiKeyJson(await useCases.revokeApiKey(id)));
  });

  router.post('/:id/roll', async (req, res) => {
    parse(NoQuery, req.query, 'query');
    const id = pathId(req);
    const body = parse(RollApiKeyBody, await readJson(req), 'body');
    const issued = await useCases.rollApiKey(id, body.gracePeriodSeconds);
    res
      .status(201)
      .location(`${req.baseUrl}/${issued.key.id}`)
      .set('Cache-Control', 'no-store')
      .json({ ...apiKeyJson(issued.key), secret: issued.secret, previous: apiKeyJson(issued.previous) });
  });

  return router;
}
