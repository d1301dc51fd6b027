import type { BoundUseCase } from '../../../shared/with-ports.ts';
import type { cancelOrder } from './use-cases/cancel-order.use-case.ts';
import type { getOrder } from './use-cases/get-order.use-case.ts';
import type { listOrders } from './use-cases/list-orders.use-case.ts';
import type { placeOrder } from './use-cases/place-order.use-case.ts';
import type { settleOrder } from './use-cases/settle-order.use-case.ts';
import type { updateCatalogReplica } from './use-cases/update-catalog-replica.use-case.ts';

/** The use cases as the driving adapters call them: their ports already bound (order.module.ts). */
export interface OrderUseCases {
  placeOrder: BoundUseCase<typeof placeOrder>;
  cancelOrder: BoundUseCase<typeof cancelOrder>;
  getOrder: BoundUseCase<typeof getOrder>;
  listOrders: BoundUseCase<typeof listOrders>;
  settleOrder: BoundUseCase<typeof settleOrder>;
  updateCatalogReplica: BoundUseCase<typeof updateCatalogReplica>;
}
