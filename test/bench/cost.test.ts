import { main } from '../../bench/cost/cli';
import { CostInputs, estimateCosts, PROFILES } from '../../bench/cost/model';
import { PRICES, PUBLISHED_ALB_LOW_COST } from '../../bench/cost/prices';

function design(inputs: CostInputs, name: 'lambda' | 'alb') {
  const found = estimateCosts(inputs).designs.find((entry) => entry.design === name);
  if (!found) throw new Error(`no ${name} design`);
  return found;
}

function line(inputs: CostInputs, name: 'lambda' | 'alb', item: RegExp): number {
  const found = design(inputs, name).lines.find((entry) => item.test(entry.item));
  if (!found) throw new Error(`no line ${item} in ${name}`);
  return found.usd;
}

describe('cost model', () => {
  const low = PROFILES.low;

  test('the ALB low profile reproduces the published $47.9 within $3', () => {
    const total = design(low, 'alb').total;
    expect(Math.abs(total - PUBLISHED_ALB_LOW_COST.total.usd)).toBeLessThanOrEqual(3);
  });

  test('the ALB low profile lines are derived from unit prices and match the published lines', () => {
    const published = PUBLISHED_ALB_LOW_COST.lines;
    expect(line(low, 'alb', /^Application Load Balancer/)).toBeCloseTo(0.0225 * 730, 0);
    expect(Math.abs(line(low, 'alb', /^Application Load Balancer/) - published.alb.usd)).toBeLessThan(1.5);
    expect(Math.abs(line(low, 'alb', /Fargate Spot: web/) - published.webFargate.usd)).toBeLessThan(0.2);
    expect(Math.abs(line(low, 'alb', /Fargate Spot: api\/worker/) - published.apiWorkerFargate.usd)).toBeLessThan(0.3);
    expect(Math.abs(line(low, 'alb', /Valkey/) - published.valkey.usd)).toBeLessThan(0.3);
    expect(Math.abs(line(low, 'alb', /NAT instance/) - published.nat.usd)).toBeLessThan(0.2);
    expect(Math.abs(line(low, 'alb', /public IPv4/) - published.publicIpv4.usd)).toBeLessThan(0.1);
    expect(line(low, 'alb', /Secrets Manager/)).toBeCloseTo(published.secrets.usd, 2);
    expect(line(low, 'alb', /Aurora Serverless v2 \(ACU\)/)).toBe(published.aurora.usd);
    expect(PRICES['us-east-1'].hoursPerMonth).toBe(730);
  });

  test('the lambda low profile is cheaper than the ALB low profile, with and without the flat-rate plan', () => {
    expect(design(low, 'lambda').total).toBeLessThan(design(low, 'alb').total);
    const flat = { ...low, cloudfrontPlan: 'free' as const };
    expect(design(flat, 'lambda').total).toBeLessThan(design(low, 'lambda').total);
    expect(line(flat, 'lambda', /^WAF/)).toBe(0);
    // Pay-as-you-go WAF: $5 per ACL + $1 per rule + $0.60 per million requests.
    const requests = (1000 * 730) / 24 + (20 * 730) / 24;
    expect(line(low, 'lambda', /^WAF/)).toBeCloseTo(5 + 5 + (requests / 1e6) * 0.6, 2);
  });

  test('more requests never cost less, for either design and any CloudFront plan', () => {
    for (const plan of ['payg', 'free', 'pro'] as const) {
      let previous = { lambda: 0, alb: 0 };
      for (const requestsPerDay of [0, 100, 1000, 10_000, 30_000, 40_000, 100_000, 1_000_000, 10_000_000]) {
        const inputs = { ...PROFILES.team, cloudfrontPlan: plan, requestsPerDay };
        const current = { lambda: design(inputs, 'lambda').total, alb: design(inputs, 'alb').total };
        expect(current.lambda).toBeGreaterThanOrEqual(previous.lambda);
        expect(current.alb).toBeGreaterThanOrEqual(previous.alb);
        previous = current;
      }
    }
  });

  test('the Free flat-rate plan turns into Pro past 1 M requests a month', () => {
    const busy = { ...low, cloudfrontPlan: 'free' as const, requestsPerDay: 50_000 };
    const estimate = estimateCosts(busy);
    expect(line(busy, 'lambda', /CloudFront \(flat-rate Pro plan\)/)).toBe(15);
    expect(estimate.notes.join(' ')).toMatch(/exceeds the CloudFront flat-rate Free plan/);
  });

  test('Aurora is priced per active hour at the configured ACU and 0 when paused', () => {
    const active = { ...low, auroraAcu: 0.5, activeHours: 10, workingDays: 20 };
    expect(line(active, 'lambda', /Aurora Serverless v2 \(ACU\)/)).toBeCloseTo(0.5 * 200 * 0.12, 2);
    expect(line(low, 'lambda', /Aurora Serverless v2 \(ACU\)/)).toBe(0);
  });

  test('keep-warm pings and provisioned concurrency add their own lines', () => {
    const warm = { ...low, keepWarm: true, provisionedConcurrency: 1, apiMemoryMb: 2048 };
    expect(line(warm, 'lambda', /keep-warm/)).toBeGreaterThan(0);
    // AWS Lambda pricing, provisioned concurrency: about $22/month for one 2 GB environment kept all month.
    expect(line(warm, 'lambda', /provisioned concurrency/)).toBeCloseTo(21.9, 0);
    expect(() => line(low, 'lambda', /keep-warm/)).toThrow();
  });

  test('Lambda@Edge is priced at $0.60/M and $0.00005001/GB-s', () => {
    const inputs = {
      ...low,
      requestsPerDay: 0,
      chatsPerDay: 1_000_000 / (730 / 24),
      edgeAvgMs: 1000,
      edgeMemoryMb: 1024,
    };
    expect(line(inputs, 'lambda', /Lambda@Edge/)).toBeCloseTo(0.6 + 1_000_000 * 0.00005001, 1);
  });
});

describe('cost CLI', () => {
  function run(argv: string[]) {
    let out = '';
    let err = '';
    const code = main(
      argv,
      (text) => (out += text),
      (text) => (err += text),
    );
    return { code, out, err };
  }

  test('prints both designs line by line with totals', () => {
    const { code, out } = run([]);
    expect(code).toBe(0);
    expect(out).toMatch(/Lambda design/);
    expect(out).toMatch(/ALB design/);
    expect(out).toMatch(/Application Load Balancer\s+\$16\.4\d/);
    expect((out.match(/TOTAL/g) ?? []).length).toBe(2);
    expect(out).toMatch(/prices reviewed \d{4}-\d{2}-\d{2}/);
  });

  test('--json gives the same totals as the model and honours the options', () => {
    const { code, out } = run([
      '--profile',
      'team',
      '--requests-per-day',
      '5000',
      '--cloudfront-plan',
      'free',
      '--json',
    ]);
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as { inputs: CostInputs; designs: Array<{ design: string; total: number }> };
    expect(parsed.inputs.requestsPerDay).toBe(5000);
    expect(parsed.inputs.cloudfrontPlan).toBe('free');
    const expected = estimateCosts({ ...PROFILES.team, requestsPerDay: 5000, cloudfrontPlan: 'free' });
    expect(parsed.designs.map((entry) => entry.total)).toEqual(expected.designs.map((entry) => entry.total));
  });

  test.each([
    [['--profile', 'huge'], /--profile must be one of low, team/],
    [['--requests-per-day', 'lots'], /--requests-per-day must be a number/],
    [['--region', 'eu-west-9'], /no price table for region 'eu-west-9'/],
    [['--active-hours', '30'], /--active-hours must be a number from 0 to 24/],
    [['--valkey-node', 'cache.r7g.huge'], /no price for Valkey node/],
    [['--whatever'], /Unknown option '--whatever'/],
  ])('%j exits 2 with a clear message', (argv, message) => {
    const { code, err } = run(argv as string[]);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });
});

describe('cost model: SnapStart (api.snapStart)', () => {
  const low = PROFILES.low;
  const snap = { ...low, snapStart: true };

  test('replaces the billed INIT of cold starts by the restore charge and adds one cached snapshot', () => {
    const gb = low.apiMemoryMb / 1024;
    const prices = PRICES['us-east-1'].lambda;
    expect(line(snap, 'lambda', /SnapStart cache/)).toBeCloseTo(gb * 730 * 3600 * prices.snapStartCacheGbSecond.usd, 1);
    const restores = low.coldStartsPerDay * 30;
    const perRestore = gb * prices.snapStartRestoreGb.usd + snap.snapStartRestoreSeconds * gb * prices.gbSecondX86.usd;
    expect(line(snap, 'lambda', /SnapStart restores/)).toBeGreaterThan(0);
    expect(line(snap, 'lambda', /SnapStart restores/) / perRestore).toBeGreaterThanOrEqual(restores * 0.9);
    expect(() => line(snap, 'lambda', /cold-start INIT/)).toThrow();
    expect(() => line(low, 'lambda', /SnapStart/)).toThrow();
  });

  test('prices are dated and sourced', () => {
    const prices = PRICES['us-east-1'];
    expect(prices.lambda.snapStartCacheGbSecond).toMatchObject({
      usd: 0.0000015046,
      source: expect.stringContaining('lambda/pricing'),
    });
    expect(prices.lambda.snapStartRestoreGb).toMatchObject({
      usd: 0.0001397998,
      unit: expect.stringContaining('per GB'),
    });
  });

  test('--snap-start switches the CLI estimate', () => {
    const out: string[] = [];
    const code = main(
      ['--snap-start'],
      (text) => out.push(text),
      () => undefined,
    );
    expect(code).toBe(0);
    expect(out.join('')).toMatch(/SnapStart restores/);
  });
});
