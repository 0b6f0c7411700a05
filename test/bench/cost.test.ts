import * as fs from 'node:fs';
import * as path from 'node:path';
import { main } from '../../bench/cost/cli';
import { awakeHours, CostInputs, DesignName, estimateCosts, PROFILES } from '../../bench/cost/model';
import { PRICES, PUBLISHED_ALB_LOW_COST, UnitPrice } from '../../bench/cost/prices';

const TOKYO = 'ap-northeast-1';
const VIRGINIA = 'us-east-1';

function design(inputs: CostInputs, name: DesignName) {
  const found = estimateCosts(inputs).designs.find((entry) => entry.design === name);
  if (!found) throw new Error(`no ${name} design`);
  return found;
}

function line(inputs: CostInputs, name: DesignName, item: RegExp): number {
  const found = design(inputs, name).lines.find((entry) => item.test(entry.item));
  if (!found) throw new Error(`no line ${item} in ${name}`);
  return found.usd;
}

/** Every priced leaf of a region's table, by its path ('fargate.vcpuHour', 'valkeyNodeHour.cache.t4g.micro'). */
function leaves(value: unknown, path = ''): Array<[string, UnitPrice]> {
  if (typeof value !== 'object' || value === null) return [];
  const record = value as Record<string, unknown>;
  if (typeof record.usd === 'number' && typeof record.kind === 'string') return [[path, value as UnitPrice]];
  return Object.entries(record).flatMap(([key, child]) => leaves(child, path ? `${path}.${key}` : key));
}

const low = PROFILES.low;
const lowVirginia = { ...low, region: VIRGINIA };

describe('cost model: the published ALB baseline (us-east-1)', () => {
  test('the ALB design as published (Aurora paused all month) reproduces $47.9 within $3', () => {
    const total = design(lowVirginia, 'alb-published').total;
    expect(Math.abs(total - PUBLISHED_ALB_LOW_COST.total.usd)).toBeLessThanOrEqual(3);
  });

  test('its lines are derived from unit prices and match the published lines', () => {
    const published = PUBLISHED_ALB_LOW_COST.lines;
    const at = (item: RegExp) => line(lowVirginia, 'alb-published', item);
    expect(at(/^Application Load Balancer/)).toBeCloseTo(0.0225 * 730, 0);
    expect(Math.abs(at(/^Application Load Balancer/) - published.alb.usd)).toBeLessThan(1.5);
    expect(Math.abs(at(/Fargate Spot: web/) - published.webFargate.usd)).toBeLessThan(0.2);
    expect(Math.abs(at(/Fargate Spot: api\/worker/) - published.apiWorkerFargate.usd)).toBeLessThan(0.3);
    expect(Math.abs(at(/Valkey/) - published.valkey.usd)).toBeLessThan(0.3);
    expect(Math.abs(at(/NAT instance/) - published.nat.usd)).toBeLessThan(0.2);
    expect(Math.abs(at(/public IPv4/) - published.publicIpv4.usd)).toBeLessThan(0.1);
    expect(at(/Secrets Manager/)).toBeCloseTo(published.secrets.usd, 2);
    expect(at(/Aurora Serverless v2 \(ACU\), as published: paused all month/)).toBe(published.aurora.usd);
  });

  test('the ALB design itself prices Aurora awake all month: its api/worker task never stops', () => {
    for (const region of [VIRGINIA, TOKYO]) {
      const inputs = { ...low, region };
      const acuHour = PRICES[region].aurora.acuHour.usd;
      expect(line(inputs, 'alb', /^Aurora Serverless v2 \(ACU\)$/)).toBeCloseTo(0.5 * 730 * acuHour, 2);
      expect(design(inputs, 'alb').total - design(inputs, 'alb-published').total).toBeCloseTo(0.5 * 730 * acuHour, 1);
    }
  });
});

describe('cost model: prices', () => {
  test('both regions are priced, every unit with its AWS pricing page and a review date', () => {
    expect(Object.keys(PRICES).sort()).toEqual([TOKYO, VIRGINIA].sort());
    for (const [region, prices] of Object.entries(PRICES)) {
      expect(prices.reviewedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(prices.hoursPerMonth).toBe(730);
      const priced = leaves(prices);
      expect(priced.length).toBeGreaterThan(30);
      for (const [path, price] of priced) {
        expect([path, price.source]).toEqual([path, expect.stringMatching(/https:\/\/aws\.amazon\.com\//)]);
        expect([path, region, Number.isFinite(price.usd) && price.usd >= 0]).toEqual([path, region, true]);
      }
    }
  });

  test('figures not read from any copy say so in their source', () => {
    const tokyo = PRICES[TOKYO];
    for (const price of [tokyo.aurora.acuHour, tokyo.valkeyNodeHour['cache.t4g.micro'], tokyo.efs.oneZoneGbMonth]) {
      expect(price.source).toContain('not confirmed from this machine, check the page');
    }
  });

  test('every Tokyo unit price is at least the us-east-1 one, and the two tables have the same units', () => {
    const tokyo = new Map(leaves(PRICES[TOKYO]));
    const virginia = leaves(PRICES[VIRGINIA]);
    expect([...tokyo.keys()].sort()).toEqual(virginia.map(([path]) => path).sort());
    for (const [path, price] of virginia) {
      const other = tokyo.get(path);
      if (!other) throw new Error(`Tokyo has no ${path}`);
      expect(other.kind).toBe(price.kind);
      // Allowances (free tiers, plan sizes, the Spot discount) are equal, so a cheaper Tokyo can't hide there.
      if (price.kind === 'unit') expect([path, other.usd >= price.usd]).toEqual([path, true]);
      else expect([path, other.usd]).toEqual([path, price.usd]);
    }
  });

  test('so Tokyo never costs less than us-east-1 for the same inputs, in any design', () => {
    for (const profile of [PROFILES.low, PROFILES.team]) {
      for (const cloudfrontPlan of ['payg', 'free', 'pro'] as const) {
        for (const sleepMode of ['off', 'idle', 'working-hours'] as const) {
          const inputs = { ...profile, cloudfrontPlan, sleepMode };
          const tokyo = estimateCosts({ ...inputs, region: TOKYO }).designs;
          const virginia = estimateCosts({ ...inputs, region: VIRGINIA }).designs;
          tokyo.forEach((entry, index) => expect(entry.total).toBeGreaterThanOrEqual(virginia[index].total));
        }
      }
    }
  });
});

describe('cost model: awake hours', () => {
  test("sleep 'off' keeps the backend task and Aurora awake all 730 h", () => {
    const off = { ...low, sleepMode: 'off' as const };
    const awake = estimateCosts(off).awake;
    expect(awake.backend).toBe(730);
    expect(awake.aurora).toBe(730);
    const fargate = PRICES[TOKYO].fargate;
    expect(line(off, 'lambda', /Fargate Spot: backend/)).toBeCloseTo(
      (fargate.vcpuHour.usd + 4 * fargate.gbHour.usd) * 730 * 0.3,
      2,
    );
    expect(() => line(off, 'lambda', /sleep controller/)).toThrow();
  });

  test("'idle' bills working days × (active hours + idle timeout + controller delay + start), Aurora its pause delay more", () => {
    const awake = awakeHours(low, 730);
    const perDay = 8 + (30 + 2.5 + 2) / 60;
    expect(awake.backend).toBeCloseTo(22 * perDay, 6);
    expect(awake.sleeps).toBe(22);
    expect(awake.aurora).toBeCloseTo(22 * perDay + (22 * (300 + 15)) / 3600, 6);
    const acuHour = PRICES[TOKYO].aurora.acuHour.usd;
    expect(line(low, 'lambda', /^Aurora Serverless v2 \(ACU\)$/)).toBeCloseTo(0.5 * awake.aurora * acuHour, 2);
  });

  test("'working-hours' keeps the window (and the idle timeout after it), never less than 'idle'", () => {
    const hours = awakeHours({ ...low, sleepMode: 'working-hours' }, 730);
    expect(hours.backend).toBeCloseTo(22 * (9 + 32.5 / 60), 6);
    for (const activeHours of [0, 4, 8, 9, 12, 20]) {
      const idle = awakeHours({ ...low, activeHours }, 730).backend;
      expect(awakeHours({ ...low, activeHours, sleepMode: 'working-hours' }, 730).backend).toBeGreaterThanOrEqual(idle);
    }
  });

  test('nobody using it: the idle backend and Aurora stay asleep', () => {
    const awake = awakeHours({ ...low, activeHours: 0 }, 730);
    expect(awake).toMatchObject({ backend: 0, aurora: 0, sleeps: 0 });
  });

  test('a minimum capacity above 0 never pauses, and a longer auto-pause delay costs more', () => {
    expect(awakeHours({ ...low, auroraMinAcu: 0.5 }, 730).aurora).toBe(730);
    expect(awakeHours({ ...low, auroraAutoPauseSeconds: 3600 }, 730).aurora).toBeGreaterThan(
      awakeHours(low, 730).aurora,
    );
  });

  test('more active hours, working days, wakes or a longer idle timeout never cost less', () => {
    for (const region of [TOKYO, VIRGINIA]) {
      for (const sleepMode of ['off', 'idle', 'working-hours'] as const) {
        for (const [field, values] of [
          ['activeHours', [0, 1, 4, 8, 9, 10, 16, 23.5, 24]],
          ['workingDays', [0, 1, 5, 20, 22, 31]],
          ['wakesPerDay', [1, 2, 4, 10, 96]],
          ['idleMinutes', [20, 30, 60, 240, 1440]],
        ] as const) {
          let previous = { lambda: 0, alb: 0 };
          for (const value of values) {
            const inputs = { ...PROFILES.team, region, sleepMode, [field]: value };
            const current = { lambda: design(inputs, 'lambda').total, alb: design(inputs, 'alb').total };
            expect([field, value, current.lambda >= previous.lambda]).toEqual([field, value, true]);
            expect([field, value, current.alb >= previous.alb]).toEqual([field, value, true]);
            previous = current;
          }
        }
      }
    }
  });
});

describe('cost model: lines', () => {
  test('the lambda low profile is cheaper than the ALB design, with and without the flat-rate plan', () => {
    for (const region of [TOKYO, VIRGINIA]) {
      const inputs = { ...low, region };
      expect(design(inputs, 'lambda').total).toBeLessThan(design(inputs, 'alb').total);
      const flat = { ...inputs, cloudfrontPlan: 'free' as const };
      expect(design(flat, 'lambda').total).toBeLessThan(design(inputs, 'lambda').total);
      expect(line(flat, 'lambda', /^WAF/)).toBe(0);
    }
    // Pay-as-you-go WAF: $5 per ACL + $1 per rule + $0.60 per million requests.
    const requests = (1000 * 730) / 24 + (20 * 730) / 24;
    expect(line(low, 'lambda', /^WAF/)).toBeCloseTo(5 + 5 + (requests / 1e6) * 0.6, 2);
  });

  test('the low profile with the Free plan: reported, and the lines that keep it above $24', () => {
    const flat = estimateCosts({ ...low, cloudfrontPlan: 'free' });
    const lambda = flat.designs.find((entry) => entry.design === 'lambda');
    if (!lambda) throw new Error('no lambda design');
    // The always-on floor: Valkey, NAT instance, its address, secrets and storage, whatever the traffic.
    const largest = [...lambda.lines]
      .sort((a, b) => b.usd - a.usd)
      .slice(0, 2)
      .map((entry) => entry.item);
    expect(largest.sort()).toEqual(['Aurora Serverless v2 (ACU)', 'ElastiCache Valkey cache.t4g.micro']);
    expect(lambda.total).toBeGreaterThan(24);
  });

  test('more requests never cost less, for any design, region and CloudFront plan', () => {
    for (const region of [TOKYO, VIRGINIA]) {
      for (const plan of ['payg', 'free', 'pro'] as const) {
        let previous = [0, 0, 0];
        for (const requestsPerDay of [0, 100, 1000, 10_000, 30_000, 40_000, 100_000, 1_000_000, 10_000_000]) {
          const inputs = { ...PROFILES.team, region, cloudfrontPlan: plan, requestsPerDay };
          const current = estimateCosts(inputs).designs.map((entry) => entry.total);
          current.forEach((total, index) => expect(total).toBeGreaterThanOrEqual(previous[index]));
          previous = current;
        }
      }
    }
  });

  test('the Free flat-rate plan turns into Pro past 1 M requests a month', () => {
    const busy = { ...low, cloudfrontPlan: 'free' as const, requestsPerDay: 50_000 };
    const estimate = estimateCosts(busy);
    expect(line(busy, 'lambda', /CloudFront \(flat-rate Pro plan\)/)).toBe(15);
    expect(estimate.notes.join(' ')).toMatch(/exceeds the CloudFront flat-rate Free plan/);
  });

  test('the upload relay is billed per upload at its arm64 rate, 1024 MB for about a second', () => {
    const prices = PRICES[TOKYO].lambda;
    const uploads = 1_000_000;
    const inputs = { ...low, uploadsPerDay: uploads / 22 };
    expect(line(inputs, 'lambda', /upload relay/)).toBeCloseTo(
      uploads * (prices.requestPerMillion.usd / 1e6) + uploads * 1 * 1 * prices.gbSecondArm.usd,
      1,
    );
  });

  test('the sleep controller runs every 5 minutes all month at 128 MB for ~300 ms, plus one metric read a run', () => {
    const prices = PRICES[TOKYO];
    const runs = 730 * 12;
    const expected =
      runs * (prices.lambda.requestPerMillion.usd / 1e6) +
      runs * 0.3 * 0.125 * prices.lambda.gbSecondArm.usd +
      (runs / 1000) * prices.cloudwatchMetrics.getMetricDataPer1000Metrics.usd;
    expect(line(low, 'lambda', /sleep controller/)).toBeCloseTo(expected, 2);
  });

  test('EFS for the plugin daemon is priced per GB-month of its storage class', () => {
    const efs = PRICES[TOKYO].efs;
    expect(line(low, 'lambda', /^EFS Standard/)).toBeCloseTo(2 * efs.standardGbMonth.usd, 4);
    const big = { ...low, efsGb: 10, efsStorageClass: 'one-zone' as const };
    expect(line(big, 'lambda', /^EFS One Zone/)).toBeCloseTo(10 * efs.oneZoneGbMonth.usd, 4);
    expect(() => line(low, 'alb', /^EFS/)).toThrow();
  });

  test("uploads 'full' adds an internal ALB (about $16-18 a month) and takes uploads off the relay", () => {
    const full = { ...low, uploadsMode: 'full' as const };
    for (const region of [TOKYO, VIRGINIA]) {
      const alb = line({ ...full, region }, 'lambda', /internal ALB/);
      expect(alb).toBeGreaterThanOrEqual(PRICES[region].alb.hour.usd * 730);
      expect(alb).toBeLessThan(PRICES[region].alb.hour.usd * 730 + 0.5);
    }
    expect(line(full, 'lambda', /upload relay/)).toBe(0);
    expect(() => line(low, 'lambda', /internal ALB/)).toThrow();
  });

  test("uploads 'full' cannot use a flat-rate plan: CloudFront and WAF are priced pay-as-you-go, with a note", () => {
    const freePlan = { ...low, cloudfrontPlan: 'free' as const };
    const full = { ...freePlan, uploadsMode: 'full' as const };
    expect(line(freePlan, 'lambda', /^WAF/)).toBe(0);
    expect(line(full, 'lambda', /^WAF/)).toBeGreaterThan(5);
    expect(() => line(full, 'lambda', /flat-rate/)).toThrow();
    expect(line(full, 'lambda', /CloudFront \(pay-as-you-go\)/)).toBeGreaterThanOrEqual(0);
    expect(estimateCosts(full).notes.join(' ')).toMatch(/ineligible for the CloudFront flat-rate plans/);
    expect(design(full, 'lambda').total).toBeGreaterThan(design(freePlan, 'lambda').total + 16);
  });

  test('Aurora is priced at the configured ACU while awake', () => {
    const busy = { ...low, auroraAcu: 2 };
    expect(line(busy, 'lambda', /^Aurora Serverless v2 \(ACU\)$/)).toBeCloseTo(
      4 * line(low, 'lambda', /^Aurora Serverless v2 \(ACU\)$/),
      1,
    );
  });

  test('keep-warm pings and provisioned concurrency add their own lines', () => {
    const warm = { ...lowVirginia, keepWarm: true, provisionedConcurrency: 1, apiMemoryMb: 2048 };
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

  test('defaults to ap-northeast-1 and prints both designs, awake hours and the published check', () => {
    const { code, out } = run([]);
    expect(code).toBe(0);
    expect(out).toMatch(/Monthly cost estimate — ap-northeast-1/);
    expect(out).toMatch(/Lambda design/);
    expect(out).toMatch(/ALB design \(ALB \+ Fargate Spot\), Aurora awake all month/);
    expect(out).toMatch(/Awake \(Lambda design\): backend task 188\.6 h/);
    expect(out).toMatch(/Check — ALB design as published \(Aurora paused all month\)/);
    expect((out.match(/TOTAL/g) ?? []).length).toBe(2);
    expect(out).toMatch(/prices reviewed \d{4}-\d{2}-\d{2}/);
  });

  test('--region us-east-1 --design published reproduces the published figure line by line', () => {
    const { code, out } = run(['--region', 'us-east-1', '--design', 'published']);
    expect(code).toBe(0);
    expect(out).toMatch(/Application Load Balancer\s+\$16\.4\d/);
    expect(out).toMatch(/TOTAL\s+\$47\.\d\d/);
    expect((out.match(/TOTAL/g) ?? []).length).toBe(1);
  });

  test('--json gives the same totals as the model and honours the options', () => {
    const { code, out } = run([
      '--profile',
      'team',
      '--requests-per-day',
      '5000',
      '--cloudfront-plan',
      'free',
      '--sleep',
      'working-hours',
      '--idle-minutes',
      '45',
      '--uploads',
      'full',
      '--efs-gb',
      '5',
      '--json',
    ]);
    expect(code).toBe(0);
    const parsed = JSON.parse(out) as {
      inputs: CostInputs;
      awake: { backend: number };
      designs: Array<{ design: string; total: number }>;
    };
    expect(parsed.inputs).toMatchObject({
      requestsPerDay: 5000,
      cloudfrontPlan: 'free',
      sleepMode: 'working-hours',
      idleMinutes: 45,
      uploadsMode: 'full',
      efsGb: 5,
      region: TOKYO,
    });
    const expected = estimateCosts({
      ...PROFILES.team,
      requestsPerDay: 5000,
      cloudfrontPlan: 'free',
      sleepMode: 'working-hours',
      idleMinutes: 45,
      uploadsMode: 'full',
      efsGb: 5,
    });
    expect(parsed.designs.map((entry) => entry.total)).toEqual(expected.designs.map((entry) => entry.total));
    expect(parsed.designs.map((entry) => entry.design)).toEqual(['lambda', 'alb', 'alb-published']);
    expect(parsed.awake.backend).toBeCloseTo(expected.awake.backend, 6);
  });

  test('--help lists the sleep and upload options', () => {
    const { code, out } = run(['--help']);
    expect(code).toBe(0);
    for (const flag of [
      '--sleep off|idle|working-hours',
      '--idle-minutes',
      '--uploads relay|full',
      '--efs-gb',
      '--region',
    ]) {
      expect(out).toContain(flag);
    }
  });

  test.each([
    [['--profile', 'huge'], /--profile must be one of low, team/],
    [['--requests-per-day', 'lots'], /--requests-per-day must be a number/],
    [['--region', 'eu-west-9'], /no price table for region 'eu-west-9' \(have: us-east-1, ap-northeast-1\)/],
    [['--active-hours', '30'], /--active-hours must be a number from 0 to 24/],
    [['--valkey-node', 'cache.r7g.huge'], /no price for Valkey node/],
    [['--sleep', 'sometimes'], /--sleep must be one of off, idle, working-hours, got 'sometimes'/],
    [['--uploads', 'huge'], /--uploads must be one of relay, full, got 'huge'/],
    [['--efs-class', 'archive'], /--efs-class must be one of standard, one-zone, got 'archive'/],
    [['--idle-minutes', '5'], /--idle-minutes must be a number from 20 to 1440, got 5/],
    [['--aurora-acu', '0'], /--aurora-acu must be a number from 0.5 to 256, got 0/],
    [['--auto-pause-seconds', '60'], /--auto-pause-seconds must be a number from 300 to 86400/],
    [['--design', 'cheapest'], /--design must be one of lambda, alb, published, both, all/],
    [['--whatever'], /Unknown option '--whatever'/],
  ])('%j exits 2 with a clear message', (argv, message) => {
    const { code, err } = run(argv as string[]);
    expect(code).toBe(2);
    expect(err).toMatch(message);
  });
});

describe('cost model: SnapStart (api.snapStart)', () => {
  const snap = { ...lowVirginia, snapStart: true };

  test('replaces the billed INIT of cold starts by the restore charge and adds one cached snapshot', () => {
    const gb = low.apiMemoryMb / 1024;
    const prices = PRICES[VIRGINIA].lambda;
    expect(line(snap, 'lambda', /SnapStart cache/)).toBeCloseTo(gb * 730 * 3600 * prices.snapStartCacheGbSecond.usd, 1);
    const restores = low.coldStartsPerDay * 30;
    const perRestore = gb * prices.snapStartRestoreGb.usd + snap.snapStartRestoreSeconds * gb * prices.gbSecondX86.usd;
    expect(line(snap, 'lambda', /SnapStart restores/)).toBeGreaterThan(0);
    expect(line(snap, 'lambda', /SnapStart restores/) / perRestore).toBeGreaterThanOrEqual(restores * 0.9);
    expect(() => line(snap, 'lambda', /cold-start INIT/)).toThrow();
    expect(() => line(lowVirginia, 'lambda', /SnapStart/)).toThrow();
  });

  test('prices are dated and sourced', () => {
    const prices = PRICES[VIRGINIA];
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

describe('README cost tables (en and ja) are the model output', () => {
  function section(file: string, heading: string): string {
    const text = fs.readFileSync(path.join(__dirname, '..', '..', file), 'utf8');
    const start = text.indexOf(`\n${heading}\n`);
    if (start < 0) throw new Error(`${file} has no ${heading}`);
    return text.slice(start, text.indexOf('\n### ', start));
  }

  test.each([
    ['README.md', '## Costs'],
    ['README.ja.md', '## コスト'],
  ])(
    '%s lists the totals of both profiles in both regions, with the Free plan and the published check',
    (file, heading) => {
      const text = section(file, heading);
      for (const region of [TOKYO, VIRGINIA]) {
        for (const profile of [PROFILES.low, PROFILES.team]) {
          const payg = estimateCosts({ ...profile, region }).designs;
          const free = estimateCosts({ ...profile, region, cloudfrontPlan: 'free' }).designs;
          const totals = [payg[0].total, payg[1].total, payg[2].total, free[0].total];
          for (const total of totals)
            expect([region, profile.profile, text]).toEqual([
              region,
              profile.profile,
              expect.stringContaining(total.toFixed(2)),
            ]);
        }
      }
      const awake = estimateCosts(PROFILES.low).awake;
      expect(text).toContain(`${awake.backend.toFixed(1)}`);
      expect(text).toContain(`${awake.aurora.toFixed(1)}`);
    },
  );
});
