import type { ProductCatalog, ReservationResult } from '../../modules/order/application/ports/product-catalog.port.ts';
import type { ProductFacade } from '../../modules/product/contract.ts';

/** The order module's product catalog port, answered by the product module in the same process. */
export class InProcessProductCatalog implements ProductCatalog {
  readonly #facade: ProductFacade;

  constructor(facade: ProductFacade) {
    this.#facade = facade;
  }

  reserve(
    orderId: string,
    items: readonly { productId: string; quantity: number }[],
    correlationId: string,
  ): Promise<ReservationResult> {
    return this.#facade.reserveStock({ orderId, items, correlationId });
  }

  release(orderId: string, correlationId: string): Promise<void> {
    return this.#facade.releaseStock({ orderId, correlationId });
  }
}
