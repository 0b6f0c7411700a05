import { AURORA_POSTGRES_MAJOR_VERSION } from '../../lib/constructs/database';
import { at, onlyResource, propsOf, removeSynthOutputs, resourcesOfType, synthTemplates } from './template-helpers';

afterAll(removeSynthOutputs);

/**
 * docs/adr/0011: the template names only the Aurora PostgreSQL major version and Aurora applies minor upgrades.
 * CloudFormation sends EngineVersion to RDS only when the template's value changes, so a cluster that AWS has moved
 * to a newer minor never meets a template asking for an older one (aws-cdk#15475).
 */
describe.each([
  ['defaults', {}],
  ['alb hosting, no auto-pause', { hosting: 'alb', database: { minAcu: 0.5 } }],
])('Aurora versions (%s)', (_name, overrides) => {
  const { regional } = synthTemplates(overrides);
  const [, cluster] = onlyResource(regional, 'AWS::RDS::DBCluster');
  const p = propsOf(cluster);

  test('EngineVersion is the bare major version, and the parameter group family follows it', () => {
    expect(AURORA_POSTGRES_MAJOR_VERSION).toBe('16');
    expect(p.Engine).toBe('aurora-postgresql');
    expect(p.EngineVersion).toBe(AURORA_POSTGRES_MAJOR_VERSION);
    expect(String(p.EngineVersion)).not.toContain('.');
    expect(p.DBClusterParameterGroupName).toBe(`default.aurora-postgresql${AURORA_POSTGRES_MAJOR_VERSION}`);
  });

  test('automatic minor upgrades are on for the cluster and every instance; instances name no version', () => {
    expect(p.AutoMinorVersionUpgrade).toBe(true);
    const instances = resourcesOfType(regional, 'AWS::RDS::DBInstance');
    expect(instances.length).toBeGreaterThan(0);
    for (const [id, instance] of instances) {
      expect({ id, auto: propsOf(instance).AutoMinorVersionUpgrade, version: propsOf(instance).EngineVersion }).toEqual(
        { id, auto: true, version: undefined },
      );
    }
  });

  test("only cfn-lint's W3690 (bare major listed as deprecated) is silenced, on the cluster alone", () => {
    expect(at(cluster, 'Metadata', 'cfn-lint', 'config', 'ignore_checks')).toEqual(['W3690']);
  });
});
