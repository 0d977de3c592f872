import { renderCsv } from '../../gateway/csv';

describe('CSV exports (dxg audit --format csv, dxg quarantine, the console)', () => {
  it('defuses a record key or name that a spreadsheet would run as a formula, and leaves numbers as they are', () => {
    const text = renderCsv(['key', 'name', 'count'], [["=cmd|'/c calc'!A1", '@SUM(A1)', -5], ['+86 532', '-x', 3], ['普通', '\tTAB', null]]);
    expect(text.split('\n').slice(0, 4)).toEqual([
      'key,name,count',
      `'=cmd|'/c calc'!A1,'@SUM(A1),-5`,
      `'+86 532,'-x,3`,
      `普通,'\tTAB,`,
    ]);
  });
});
