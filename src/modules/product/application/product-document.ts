import type { ProductProps } from '../domain/product.ts';

/**
 * A product as it is read: its JSON document (the props as JSON.stringify writes them: the dates in ISO 8601,
 * which is the API's Product) and its version (the ETag), so that a read served from a cache is a string
 * handed on, never parsed and serialised again.
 */
export interface ProductDocument {
  version: number;
  json: string;
}

export const productDocument = (props: ProductProps): ProductDocument => ({
  version: props.version,
  json: JSON.stringify(props),
});
