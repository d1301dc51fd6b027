import { ContainerModule } from 'inversify';
import { HttpProductCatalog } from '../../adapters/product-catalog/http-product-catalog.ts';
import { InProcessProductCatalog } from '../../adapters/product-catalog/in-process-product-catalog.ts';
import type { JwtSettings } from '../../edge/http/auth.ts';
import { OrderTokens } from '../../modules/order/order.module.ts';
import type { ProductFacade } from '../../modules/product/contract.ts';
import { ProductTokens } from '../../modules/product/product.module.ts';
import type { Logger } from '../../shared/logger.port.ts';
import { Tokens } from '../../shared/tokens.ts';
import type { Config } from '../config.schema.ts';
import type { Lifecycle } from '../lifecycle.ts';
import { BootTokens } from './boot-tokens.ts';

/** The order module's product catalog when the product module runs in the same process: its facade. */
export const inProcessCatalogModule = new ContainerModule(({ bind }) => {
  bind(OrderTokens.ProductCatalog)
    .toResolvedValue((facade: ProductFacade) => new InProcessProductCatalog(facade), [ProductTokens.Facade])
    .inSingletonScope();
});

/** The order module's product catalog in split mode: the product service's internal API over HTTP. */
export const httpCatalogModule = new ContainerModule(({ bind }) => {
  bind(OrderTokens.ProductCatalog)
    .toResolvedValue(
      (config: Config, jwt: JwtSettings, logger: Logger, lifecycle: Lifecycle) => {
        const catalog = new HttpProductCatalog({ baseUrl: config.productUrl, jwt, logger });
        lifecycle.onStop('producers', 'product-catalog', () => catalog.close());
        return catalog;
      },
      [BootTokens.Config, BootTokens.Jwt, Tokens.Logger, BootTokens.Lifecycle],
    )
    .inSingletonScope();
});
