import { expect } from 'chai';
import { PathId } from '../../../src/edge/http/common-schemas.ts';
import { HttpProblem } from '../../../src/edge/http/problem.ts';
import { parse, pathId, refuseQuery } from '../../../src/edge/http/validate.ts';

/** What a call threw (an HttpProblem), or undefined. */
function thrown(fn: () => unknown): HttpProblem | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    expect(error).to.be.instanceOf(HttpProblem);
    return error as HttpProblem;
  }
}

describe('path ids and query strings at the edge', () => {
  const id = '0197A4F2-0000-7000-8000-00000000000a';

  it('reads a well-formed :id as the PathId schema does: a UUID in lower case', () => {
    expect(pathId({ params: { id } })).to.equal(parse(PathId, { id }, 'path').id);
    expect(pathId({ params: { id } })).to.equal(id.toLowerCase());
  });

  it('refuses anything else with the schema’s own 400', () => {
    for (const bad of ['12345', `${id}x`, '', ' '.repeat(36)]) {
      const problem = thrown(() => pathId({ params: { id: bad } }));
      const expected = thrown(() => parse(PathId, { id: bad }, 'path'));
      expect(problem?.status, bad).to.equal(400);
      expect(problem?.message).to.equal(expected?.message);
      expect(problem?.errors).to.deep.equal(expected?.errors);
    }
  });

  it('refuses any query parameter where a route takes none, and lets an empty query string by', () => {
    expect(thrown(() => refuseQuery({ url: '/x', query: {} } as never))).to.equal(undefined);
    expect(thrown(() => refuseQuery({ url: '/x?', query: {} } as never))).to.equal(undefined);
    const problem = thrown(() => refuseQuery({ url: '/x?mode=a', query: { mode: 'a' } } as never));
    expect(problem?.status).to.equal(400);
    expect(problem?.code).to.equal('VALIDATION_FAILED');
  });
});
