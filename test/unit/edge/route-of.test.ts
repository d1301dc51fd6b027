import { expect } from 'chai';
import { routeOf } from '../../../src/edge/http/route-prefix.ts';

describe('which proxied route a request target belongs to', () => {
  const routes = [
    { prefix: '/api/v1/products', service: 'product' },
    { prefix: '/api/v1/orders', service: 'order' },
  ];
  const serviceOf = (target: string) => routeOf(routes, target)?.service ?? null;

  it('takes the collection, anything under it, and a query on it', () => {
    expect(serviceOf('/api/v1/products')).to.equal('product');
    expect(serviceOf('/api/v1/products/')).to.equal('product');
    expect(serviceOf('/api/v1/products/0197a4f2/stock')).to.equal('product');
    expect(serviceOf('/api/v1/products?limit=5')).to.equal('product');
    expect(serviceOf('/api/v1/orders/42/cancel')).to.equal('order');
  });

  it('does not take a longer name that merely starts with the prefix, or other paths', () => {
    expect(serviceOf('/api/v1/productsX')).to.equal(null);
    expect(serviceOf('/api/v1/orders-archive')).to.equal(null);
    expect(serviceOf('/api/v1/product')).to.equal(null);
    expect(serviceOf('/internal/v1/reservations')).to.equal(null);
    expect(serviceOf('/health/ready')).to.equal(null);
    expect(serviceOf('/')).to.equal(null);
  });

  it('compares without regard to case, as the services route', () => {
    expect(serviceOf('/API/V1/Products/1')).to.equal('product');
  });

  it('routes an absolute-form target by its path, and nothing it cannot parse', () => {
    expect(serviceOf('http://elsewhere.example/api/v1/orders?x=1')).to.equal('order');
    expect(serviceOf('http://elsewhere.example/other')).to.equal(null);
    expect(serviceOf('*')).to.equal(null);
  });
});
