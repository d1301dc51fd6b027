import { expect } from 'chai';
import { brokerUnreachable, KafkaUnavailable } from '../../../src/adapters/messaging/kafka/kafka-unavailable.ts';
import { databaseUnavailable } from '../../../src/adapters/persistence/mikro-orm/database-unavailable.ts';
import { explainDatabaseFailure, explainKafkaFailure, StartupFailure } from '../../../src/bootstrap/startup-failure.ts';

/** What mysql2 rejects with, by the fields the classification reads. */
const mysqlError = (code: string, message: string, errno?: number) =>
  Object.assign(new Error(message), { code, errno });

const line = (failure: unknown) => {
  expect(failure).to.be.instanceOf(StartupFailure);
  return (failure as StartupFailure).message;
};

describe('start-up failures: classified by the adapters, worded with their fix by bootstrap', () => {
  const local = 'mysql://hexashop_product:s3cret@127.0.0.1:3306/product_db';
  const remote = 'mysql://shop:s3cret@db.internal:3307/shop_product';
  const product = (error: Error, url: string) =>
    line(explainDatabaseFailure(databaseUnavailable(error, url), 'product'));

  it('names the schema, user and address, the reason, and the command that creates them', () => {
    const denied = mysqlError('ER_ACCESS_DENIED_ERROR', "Access denied for user 'hexashop_product'@'127.0.0.1'", 1045);
    expect(product(denied, local)).to.equal(
      "cannot open the product database at 127.0.0.1:3306: access denied (user 'hexashop_product', schema 'product_db'); " +
        'create the schemas and users with `npm run services:up` (the defaults) or ' +
        '`npx hexashop db setup --admin-url mysql://root@127.0.0.1:3306` with the same --product-db-url',
    );
    const unknown = mysqlError('ER_BAD_DB_ERROR', "Unknown database 'shop_product'", 1049);
    expect(product(unknown, remote)).to.equal(
      "cannot open the product database at db.internal:3307: unknown database (user 'shop', schema 'shop_product'); " +
        'create the schema and user with `npx hexashop db setup --admin-url mysql://root@db.internal:3307` ' +
        'with the same --product-db-url',
    );
  });

  it('tells a server that is not there from one that refuses, and says where to start one', () => {
    expect(product(mysqlError('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3306', -111), local)).to.equal(
      "cannot open the product database at 127.0.0.1:3306: connection refused (user 'hexashop_product', schema 'product_db'); " +
        'start the local services with `npm run services:up`, or point --product-db-url at a running server',
    );
    expect(product(mysqlError('ETIMEDOUT', 'connect ETIMEDOUT'), remote)).to.equal(
      "cannot open the product database at db.internal:3307: timed out (user 'shop', schema 'shop_product'); " +
        'start the MySQL server at db.internal:3307, or point --product-db-url at a running one',
    );
    expect(product(mysqlError('ENOTFOUND', 'getaddrinfo ENOTFOUND db.internal'), remote)).to.match(
      /db\.internal:3307: host not found .*; check --product-db-url$/,
    );
  });

  it('keeps the server message of anything else on one line, without the password', () => {
    const tls = mysqlError('HANDSHAKE_SSL_ERROR', 'certificate rejected\nfor shop:s3cret');
    const failure = databaseUnavailable(tls, remote);
    expect(failure.reason).to.equal('other');
    expect(failure.errno).to.equal(undefined);
    const text = line(explainDatabaseFailure(failure, 'order'));
    expect(text).to.equal(
      "cannot open the order database at db.internal:3307: certificate rejected for shop:*** (user 'shop', " +
        "schema 'shop_product'); check --order-db-url",
    );
  });

  it('lets other errors through unchanged', () => {
    const error = new Error('boom');
    expect(explainDatabaseFailure(error, 'product')).to.equal(error);
    expect(explainKafkaFailure(error)).to.equal(error);
  });

  it('names the Kafka brokers and what to start, or what to do about short topics', () => {
    const refused = Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:9092'), {
      cause: { code: 'ECONNREFUSED' },
    });
    expect(line(explainKafkaFailure(brokerUnreachable(refused, ['127.0.0.1:9092'])))).to.equal(
      'cannot reach Kafka at 127.0.0.1:9092: connection refused; ' +
        'start the local services with `npm run services:up`, or point --kafka-brokers at a running broker',
    );
    expect(
      line(explainKafkaFailure(brokerUnreachable(new Error('Connection timeout'), ['k1:9092', 'k2:9092']))),
    ).to.equal(
      'cannot reach Kafka at k1:9092,k2:9092: Connection timeout; start the broker, or point --kafka-brokers at a running one',
    );
    const short = new KafkaUnavailable(
      'topics',
      ['127.0.0.1:9092'],
      'product-events has 3 partitions, needs at least 6',
    );
    expect(line(explainKafkaFailure(short))).to.equal(
      'Kafka topics at 127.0.0.1:9092 are not as required: product-events has 3 partitions, needs at least 6; ' +
        'a topic with too few partitions must be recreated (adding partitions would move keys), or use another ' +
        '--kafka-namespace; `npx hexashop kafka topics` shows what falls short',
    );
  });
});
