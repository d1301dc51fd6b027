import type { BoundUseCase } from '../../../shared/with-ports.ts';
import type { createProduct } from './use-cases/create-product.use-case.ts';
import type { deleteProduct } from './use-cases/delete-product.use-case.ts';
import type { getProduct } from './use-cases/get-product.use-case.ts';
import type { listProducts } from './use-cases/list-products.use-case.ts';
import type { releaseStock } from './use-cases/release-stock.use-case.ts';
import type { reserveStock } from './use-cases/reserve-stock.use-case.ts';
import type { updateProduct } from './use-cases/update-product.use-case.ts';

/** The use cases as the driving adapters call them: their ports already bound (product.module.ts). */
export interface ProductUseCases {
  createProduct: BoundUseCase<typeof createProduct>;
  updateProduct: BoundUseCase<typeof updateProduct>;
  deleteProduct: BoundUseCase<typeof deleteProduct>;
  getProduct: BoundUseCase<typeof getProduct>;
  listProducts: BoundUseCase<typeof listProducts>;
  reserveStock: BoundUseCase<typeof reserveStock>;
  releaseStock: BoundUseCase<typeof releaseStock>;
}
