import { join } from 'node:path';
import { IndicatorRegistry } from '../../gateway/indicators/registry';
import { kindOf, toWire, versionOf } from '../../gateway/indicators/codec';
import { idCheckChar, isIdNumber, isUscc, usccCheckChar } from '../../gateway/indicators/formats';
import { matches } from '../../gateway/flow/where';
import { keyText } from '../../gateway/flow/records';
import { keyMatcher } from '../../gateway/ledger/query';
import { maskText } from '../../gateway/mask';

describe('identifier formats', () => {
  it('accepts real check characters and refuses a changed one', () => {
    // 91350100M000100Y43 is a published example code (GB 32100-2015 annex)
    expect(isUscc('91350100M000100Y43')).toBe(true);
    expect(isUscc('91350100M000100Y44')).toBe(false);
    expect(isUscc('91350100M000100Y4')).toBe(false);
    const base = '91110108MA01ABCD5';
    expect(isUscc(base + usccCheckChar(base))).toBe(true);
    // 11010519491231002X is the standard's own example
    expect(isIdNumber('11010519491231002X')).toBe(true);
    expect(isIdNumber('110105194912310021')).toBe(false);
    expect(isIdNumber(`11010519490231002${idCheckChar('11010519490231002')}`)).toBe(false); // 31 February
  });
});

describe('values as they travel', () => {
  it('derives the kind from the indicator schema', () => {
    expect(kindOf({ type: ['string', 'null'], format: 'date-time' })).toBe('datetime');
    expect(kindOf({ type: 'string', format: 'decimal' })).toBe('decimal');
    expect(kindOf({ type: ['integer', 'null'] })).toBe('integer');
    expect(kindOf({ type: 'boolean' })).toBe('boolean');
    expect(kindOf({ enum: ['1', '2'] })).toBe('string');
  });

  it('keeps decimals and big integers exact and turns MySQL 0/1 into booleans', () => {
    expect(toWire('decimal', '12345678901234.5678')).toBe('12345678901234.5678');
    expect(toWire('integer', '9007199254740993')).toBe('9007199254740993');
    expect(toWire('integer', '42')).toBe(42);
    expect(toWire('boolean', 1)).toBe(true);
    expect(toWire('boolean', 0)).toBe(false);
    expect(toWire('string', 7)).toBe('7');
    expect(toWire('date', '2024-02-29')).toBe('2024-02-29');
    expect(toWire('datetime', null)).toBeNull();
  });

  it('orders versions exactly to the microsecond, offsets included', () => {
    const a = versionOf('datetime', '2024-03-01T10:00:00.000001');
    const b = versionOf('datetime', '2024-03-01T10:00:00.000002');
    expect(b - a).toBe(1n);
    // the allocation-free reading of the common shape agrees with the general one
    for (const t of ['2024-03-01 10:00:00.12', '1999-12-31T23:59:59', '2024-02-29 00:00:00.000001']) {
      expect(versionOf('datetime', t)).toBe(versionOf('datetime', `${t}Z`));
    }
    expect(versionOf('datetime', '2024-03-01 10:00:00.12')).toBe(versionOf('datetime', '2024-03-01T10:00:00.120000+00:00'));
    expect(versionOf('datetime', '2024-03-01T18:00:00+08:00')).toBe(versionOf('datetime', '2024-03-01T10:00:00Z'));
    expect(versionOf('date', '1970-01-02')).toBe(86_400_000_000n);
    expect(versionOf('integer', '123')).toBe(123n);
    expect(() => versionOf('datetime', 'yesterday')).toThrow(/not a datetime/);
  });

  it('writes composite keys as JSON and single keys as text', () => {
    expect(keyText(['91350100M000100Y43'])).toBe('91350100M000100Y43');
    expect(keyText(['a', 1])).toBe('["a",1]');
    expect(keyText(['x'.repeat(300)])).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('finds a composite key in the ledger however it is typed', () => {
    const stored = keyText(['110102', 1000403]);
    for (const typed of ['["110102",1000403]', '["110102", 1000403]', '["110102","1000403"]', '110102,1000403', '110102, 1000403']) {
      const key = keyMatcher(typed);
      expect(key.matches(stored)).toBe(true);
      expect(stored).toContain(key.like.slice(1, -1));
    }
    expect(keyMatcher('110102,1000404').matches(stored)).toBe(false);
    expect(keyMatcher('1000403').matches(stored)).toBe(false);
    expect(keyMatcher('91350100M000100Y43').matches('91350100M000100Y43')).toBe(true);
  });
});

describe('where', () => {
  const record = { status: '1', capital: '500.5', region: null, listed: true };
  it('evaluates each operator', () => {
    expect(matches({ status: { in: ['1', '2'] } }, record)).toBe(true);
    expect(matches({ status: { not_in: ['1'] } }, record)).toBe(false);
    expect(matches({ status: 1 }, record)).toBe(true);
    expect(matches({ capital: { gt: 100 } }, record)).toBe(true);
    expect(matches({ capital: { lte: '500.4' } }, record)).toBe(false);
    expect(matches({ region: { is_null: true } }, record)).toBe(true);
    expect(matches({ region: { ne: 'x' } }, record)).toBe(false); // NULL is not "not equal": it is unknown
    expect(matches({ status: '1', listed: true }, record)).toBe(true);
    expect(matches({ status: '1', listed: false }, record)).toBe(false);
  });
});

describe('masking', () => {
  it('hides identity numbers, mobile numbers and passwords in URLs', () => {
    expect(maskText('person 11010519491231002X failed')).toBe('person 110105********002X failed');
    expect(maskText('call 13812345678')).toBe('call 138****5678');
    expect(maskText('postgres://dxg:secret@db/x')).toBe('postgres://dxg:***@db/x');
    expect(maskText('uscc 91350100M000100Y43')).toBe('uscc 91350100M000100Y43');
    // an all-digit credit code has no birth date after its region: not an identity number
    expect(maskText('uscc 913702021345986344')).toBe('uscc 913702021345986344');
    // an identity number with a wrong check digit is masked all the same
    expect(maskText('person 110105194912310021')).toBe('person 110105********0021');
  });

  it('hides a secret in every place a database or broker URL can carry it', () => {
    const cases: [string, string][] = [
      ['postgres://dxg:pa/ss:w?rd@db:5432/x', 'postgres://dxg:***@db:5432/x'],
      ['mysql://root:@127.0.0.1/x', 'mysql://root:***@127.0.0.1/x'],
      ['postgres://dxg@db/x?password=s3cret&sslmode=require', 'postgres://dxg@db/x?password=***&sslmode=require'],
      ['postgres://db/x?sslmode=require&sslpassword=k3y', 'postgres://db/x?sslmode=require&sslpassword=***'],
      ['mssql://db:1433/x?encrypt=true&Password=abc', 'mssql://db:1433/x?encrypt=true&Password=***'],
      ['Server=db;User Id=sa;Password=Passw0rd!;Encrypt=true', 'Server=db;User Id=sa;Password=***;Encrypt=true'],
      ['Server=db;Pwd="a;b";', 'Server=db;Pwd=***;'],
      ['amqps://u:p@broker:5671/?auth=plain&token=eyJhbGciOi', 'amqps://u:***@broker:5671/?auth=***&token=***'],
      ['cannot connect to http://guest:guest@127.0.0.1:15672/api (refused)', 'cannot connect to http://guest:***@127.0.0.1:15672/api (refused)'],
      ['url=1postgres://dxg:s3cret@db/x', 'url=1postgres://dxg:***@db/x'],
      ['via db.amqp+tls://u:s3cret@broker', 'via db.amqp+tls://u:***@broker'],
    ];
    for (const [text, masked] of cases) expect(maskText(text)).toBe(masked);
    for (const [text] of cases) expect(maskText(text)).not.toMatch(/s3cret|k3y|Passw0rd|a;b|eyJ|pa\/ss|=abc/);
  });

  it('cuts a long log text, and masks what it keeps, an identity number across the cut included', () => {
    // a hostile sender's 400,000-letter header
    const huge = maskText(`unknown message kind '${'a'.repeat(400_000)}'`, 2000);
    expect(huge).toMatch(/^unknown message kind 'a+… \(400023 characters\)$/);
    expect(huge.length).toBeLessThan(2100);
    const across = maskText(`${'x'.repeat(1990)} 110105194912310021 postgres://dxg:secret@db/x`, 2000);
    expect(across).not.toMatch(/19491231/);
    expect(maskText(`${'x'.repeat(1990)} 110105194912310021`, 2000)).toBe(`${'x'.repeat(1990)} 110105***… (2009 characters)`);
  });

  it('masks a long text whole where no limit is given (the centre\'s answers): each run of letters is read once', () => {
    // with a URL pattern that tried a scheme at every letter, or read every scheme to the text's end, this took minutes
    const runs = `${'a'.repeat(200_000)} ${'a1'.repeat(100_000)} ${'a://'.repeat(200_000)} postgres://dxg:s3cret@db/x`;
    expect(maskText(runs)).toBe(`${'a'.repeat(200_000)} ${'a1'.repeat(100_000)} ${'a://'.repeat(200_000)} postgres://dxg:***@db/x`);
  });
});

describe('record checks', () => {
  const set = new IndicatorRegistry(join(__dirname, '..', '..', 'schemas')).get('enterprise.basic')!;
  const check = set.view(['uscc', 'name', 'status', 'employees', 'updated_at']);
  const valid = { uscc: '91350100M000100Y43', name: '福州测试有限公司', status: '1', employees: 12, updated_at: '2024-03-01T10:00:00.123456' };

  it('names the indicator at fault, and the type it had instead of its value', () => {
    expect(check(valid)).toEqual([]);
    expect(check({ ...valid, name: null })).toEqual(['name: must be string (is null)']);
    expect(check({ ...valid, employees: '12' })).toEqual(['employees: must be integer,null (is a string)']);
    expect(check({ ...valid, uscc: '91350100M000100Y44' })).toEqual(['uscc: must match format "uscc"']);
    expect(check({ ...valid, updated_at: '2024-02-30T10:00:00' })).toEqual(['updated_at: must match format "date-time"']);
  });
});
