import { expect } from 'chai';
import { targetProblem } from '../../../src/edge/http/request-target.ts';

const verdict = (target: string) => targetProblem(target)?.message ?? 'ok';

describe('request targets in normal form', () => {
  it('lets plain paths through, with or without a trailing slash, a dot inside a segment or a query', () => {
    for (const target of [
      '/',
      '/api/v1/products/0197a4f2-0000-7000-8000-000000000001',
      '/api/v1/products/',
      '/a/.b/..c/...',
      '/a.b/c..',
      '/api/v1/products?limit=2&cursor=x',
    ]) {
      expect(verdict(target), target).to.equal('ok');
    }
  });

  it('names what is wrong with a path, whether it is told at a glance or looked into', () => {
    const cases: [string, string][] = [
      ['//', 'an empty segment (//)'],
      ['/a//b', 'an empty segment (//)'],
      ['/a/.', 'a dot segment (. or ..)'],
      ['/a/..', 'a dot segment (. or ..)'],
      ['/./a', 'a dot segment (. or ..)'],
      ['/a/../b', 'a dot segment (. or ..)'],
      ['/a/%2e%2E/b', 'a dot segment (. or ..)'],
      ['/a%2Fb', 'an encoded slash, backslash or NUL'],
      ['/a\\b', 'an encoded slash, backslash or NUL'],
      ['/a%zz', 'invalid percent-encoding'],
      ['/a\u0001b', 'a control character'],
      ['/a%7Fb', 'a control character'],
    ];
    for (const [target, problem] of cases) {
      expect(verdict(target), target).to.equal(`the path is not in normal form: ${problem}`);
    }
  });

  it('judges an absolute-form target by its path', () => {
    expect(verdict('http://shop.example/api/v1/products')).to.equal('ok');
    expect(verdict('http://shop.example/api/v1/products?limit=1&limit=2')).to.match(/repeated/);
  });
});
