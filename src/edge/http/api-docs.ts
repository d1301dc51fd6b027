import { readFileSync } from 'node:fs';
import express, { type RequestHandler, type Router } from 'express';
import swaggerUi from 'swagger-ui-express';
import { parse } from 'yaml';

/** The OpenAPI document, the one source of truth for the public API (also linted by `npm run lint`). */
const SPEC_FILE = new URL('../../../docs/openapi.yaml', import.meta.url);

/**
 * The docs page's Content-Security-Policy, in place of the app-wide one (helmet's defaults) under /docs.
 * Swagger UI runs no inline script (swagger-ui-express serves its options as swagger-ui-init.js), so
 * scripts stay 'self' only; it does need inline styles (<style> blocks and style attributes in its page and
 * from React) and data: images (icons in its CSS). Unlike helmet's defaults it allows nothing from other
 * origins (no `https:` styles and fonts) and leaves out `upgrade-insecure-requests`, which sends the page's
 * own asset requests to https:// on any plain-HTTP host but loopback, so the page stays blank there.
 * "Try it out" calls the API on the page's origin: connect-src 'self', through default-src.
 */
const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
].join(';');

/** The files of swagger-ui-dist the page loads; the rest of the package (its petstore demo page) is not served. */
const ASSETS = new Set([
  '/swagger-ui.css',
  '/swagger-ui-bundle.js',
  '/swagger-ui-standalone-preset.js',
  '/swagger-ui-init.js',
  '/favicon-16x16.png',
  '/favicon-32x32.png',
]);

/**
 * The API documented in a browser, public in every role: `GET /openapi.json` (docs/openapi.yaml as JSON)
 * and `GET /docs/` (Swagger UI, from the local swagger-ui-dist files, with "try it out").
 * The document is read and parsed once, when the app is built.
 */
export function apiDocs(): Router {
  const spec = parse(readFileSync(SPEC_FILE, 'utf8')) as Record<string, unknown>;
  // The document's `servers` names the default address (http://localhost:8080); the page must call the
  // server that serves it instead, wherever that is (gateway, monolith, behind a proxy). Swagger UI has no
  // option for that short of a request interceptor rewriting every URL, so the page reads a copy whose one
  // server is relative (OpenAPI resolves it against the document's own URL: this origin), and
  // /openapi.json stays the file as written. The page fetches its copy rather than having it inlined:
  // swagger-ui-express splices an inlined document into its script with String.replace, which garbles
  // every "$`" and "$'" in it, and the document's descriptions have some.
  const forPage = { ...spec, servers: [{ url: '/', description: 'this server' }] };
  const options = {
    customSiteTitle: 'Hexashop API',
    swaggerUrl: 'openapi.json',
    swaggerOptions: { validatorUrl: null },
  };

  const router = express.Router({ strict: true });
  router.get('/openapi.json', sendJson(spec));
  router.use('/docs', docsPolicy);
  // The page refers to its files relatively (./swagger-ui.css), so it lives at /docs/.
  router.get('/docs', (_req, res) => res.redirect(301, 'docs/'));
  router.get('/docs/', swaggerUi.setup(null, options));
  router.get('/docs/openapi.json', sendJson(forPage));
  router.use('/docs', onlyAssets, ...swaggerUi.serveFiles(undefined, options));
  return router;
}

function sendJson(document: Record<string, unknown>): RequestHandler {
  const body = JSON.stringify(document);
  return (_req, res) => {
    // Changes only with a deployment; five minutes of staleness after one is acceptable.
    res.set('Cache-Control', 'public, max-age=300').type('json').send(body);
  };
}

const docsPolicy: RequestHandler = (_req, res, next) => {
  res.set('Content-Security-Policy', DOCS_CSP);
  next();
};

const onlyAssets: RequestHandler = (req, _res, next) => next(ASSETS.has(req.path) ? undefined : 'router');
