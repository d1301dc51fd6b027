import { expect } from 'chai';
import { toPage } from '../../../src/shared/page.ts';

const rows = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    id: `id-${String(i).padStart(3, '0')}`,
  }));

describe('toPage', () => {
  it('returns every row and no cursor when there are fewer rows than the limit', () => {
    expect(toPage(rows(2), 3)).to.deep.equal({
      items: rows(2),
      nextCursor: null,
    });
  });

  it('returns no cursor when the rows exactly fill the page', () => {
    expect(toPage(rows(3), 3)).to.deep.equal({
      items: rows(3),
      nextCursor: null,
    });
  });

  it('drops the extra row and points the cursor at the last row shown when one more was fetched', () => {
    const page = toPage(rows(4), 3);
    expect(page.items).to.deep.equal(rows(3));
    expect(page.nextCursor).to.equal('id-002');
  });

  it('returns an empty page with no cursor for no rows', () => {
    expect(toPage([], 20)).to.deep.equal({ items: [], nextCursor: null });
  });
});
