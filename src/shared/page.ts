/** Keyset pagination: ids are time-ordered UUIDv7, so the cursor is simply the last id of the previous page. */
export interface PageRequest {
  limit: number;
  after?: string | undefined;
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/** Callers fetch limit + 1 rows; the extra row only tells whether another page exists. */
export function toPage<T extends { id: string }>(rows: T[], limit: number): Page<T> {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > limit && last ? last.id : null };
}
