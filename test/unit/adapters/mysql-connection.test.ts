import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { mysqlConnection } from '../../../src/adapters/persistence/mikro-orm/orm.ts';

describe('mysqlConnection (URL → MikroORM options)', () => {
  it('passes the URL through without TLS by default, JSON read as text', () => {
    expect(mysqlConnection('mysql://u:p@db:3306/product_db')).to.deep.equal({
      clientUrl: 'mysql://u:p@db:3306/product_db',
      driverOptions: { jsonStrings: true },
    });
  });

  it('turns ?ssl=true and ?ssl-ca=PATH into mysql2 ssl options, and strips them from the URL', () => {
    expect(mysqlConnection('mysql://u:p@db:3306/product_db?ssl=true').driverOptions).to.deep.equal({
      jsonStrings: true,
      ssl: {},
    });
    const dir = mkdtempSync(join(tmpdir(), 'hexashop-tls-'));
    try {
      const ca = join(dir, 'ca.pem');
      writeFileSync(ca, 'PEM');
      const options = mysqlConnection(`mysql://u:p@db:3306/product_db?ssl-ca=${encodeURIComponent(ca)}`, {
        rejectUnauthorized: false,
      });
      expect(options.clientUrl).to.equal('mysql://u:p@db:3306/product_db');
      expect(options.driverOptions).to.deep.equal({ jsonStrings: true, ssl: { ca: 'PEM', rejectUnauthorized: false } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(mysqlConnection('mysql://u:p@db/x?ssl=false', { ca: 'X' }).driverOptions).to.deep.equal({
      jsonStrings: true,
      ssl: { ca: 'X' },
    });
  });

  it('refuses unknown parameters rather than ignoring them, without echoing the URL', () => {
    expect(() => mysqlConnection('mysql://u:secret@db/x?sslmode=required')).to.throw(
      /unsupported MySQL URL parameter "sslmode"/,
    );
    const message = (() => {
      try {
        mysqlConnection('mysql://u:secret@db/x?ssl=yes');
      } catch (error) {
        return (error as Error).message;
      }
      return 'accepted';
    })();
    expect(message)
      .to.match(/unsupported MySQL URL parameter "ssl"/)
      .and.not.include('secret');
  });
});
