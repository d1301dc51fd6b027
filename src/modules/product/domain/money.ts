import { ProductErrors } from './product.errors.ts';

/** Prices are integers of minor units; the cap keeps every sum of them exact in a double and in a BIGINT. */
export const MAX_PRICE_CENTS = 100_000_000_00;

/** The shape of an ISO 4217 code; assertCurrency also requires a currency the runtime knows. */
export const CURRENCY_PATTERN = /^[A-Z]{3}$/;
export const CURRENCY_RULE = 'must be an ISO 4217 code such as EUR';

const ISO_4217 = new Set(Intl.supportedValuesOf('currency'));

export function assertPrice(priceCents: number): void {
  if (!Number.isSafeInteger(priceCents) || priceCents < 0 || priceCents > MAX_PRICE_CENTS) {
    throw ProductErrors.invalid('priceCents', `must be an integer from 0 to ${MAX_PRICE_CENTS}`);
  }
}

export function assertCurrency(currency: string): void {
  if (!CURRENCY_PATTERN.test(currency) || !ISO_4217.has(currency)) {
    throw ProductErrors.invalid('currency', CURRENCY_RULE);
  }
}
