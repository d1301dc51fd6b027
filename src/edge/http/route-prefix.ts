/**
 * The route whose prefix the target's path starts with, followed by nothing, `/` or `?`; compared without
 * regard to case, as Express routes are (the services behind match the same way). An absolute-form target
 * (`GET http://host/path`) is routed by its path.
 */
export function routeOf<R extends { prefix: string }>(routes: readonly R[], target: string): R | undefined {
  const path = target.startsWith('/') ? target : pathOf(target);
  for (const route of routes) {
    const end = path.charCodeAt(route.prefix.length);
    // NaN: the path ends there; 47 '/', 63 '?'.
    if (
      (Number.isNaN(end) || end === 47 || end === 63) &&
      path.slice(0, route.prefix.length).toLowerCase() === route.prefix
    ) {
      return route;
    }
  }
  return undefined;
}

function pathOf(target: string): string {
  try {
    return new URL(target).pathname;
  } catch {
    return '';
  }
}
