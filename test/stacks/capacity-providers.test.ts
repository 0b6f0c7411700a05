import {
  asArray,
  dependsOn,
  onlyResource,
  propsOf,
  refId,
  removeSynthOutputs,
  resourcesOfType,
  synthTemplates,
} from './template-helpers';

afterAll(removeSynthOutputs);

/**
 * CloudFormation deletes in reverse dependency order. A service that does not depend on the cluster's
 * capacity-provider association may still be running when the association is deleted, and `cdk destroy` fails with
 * "The specified capacity provider is in use".
 */
describe.each([
  ['lambda hosting', { hosting: 'lambda' }, 1],
  ['alb hosting', { hosting: 'alb' }, 3],
  ['on-demand base', { backend: { onDemandBase: 1, onDemandWeight: 1 } }, 1],
])('ECS services wait for the capacity-provider association (%s)', (_name, overrides, serviceCount) => {
  const { regional } = synthTemplates(overrides);
  const [associationId, association] = onlyResource(regional, 'AWS::ECS::ClusterCapacityProviderAssociations');
  const services = resourcesOfType(regional, 'AWS::ECS::Service');

  test('every service DependsOn the association of its cluster', () => {
    expect(services).toHaveLength(serviceCount);
    for (const [id, service] of services) {
      expect(refId(propsOf(service).Cluster)).toBe(refId(propsOf(association).Cluster));
      expect({ id, dependsOn: dependsOn(service) }).toEqual({ id, dependsOn: expect.arrayContaining([associationId]) });
    }
  });

  test('the association offers every capacity provider a service uses', () => {
    const offered = asArray(propsOf(association).CapacityProviders);
    for (const [id, service] of services) {
      for (const entry of asArray(propsOf(service).CapacityProviderStrategy)) {
        const provider = (entry as { CapacityProvider: string }).CapacityProvider;
        expect({ id, provider, offered: offered.includes(provider) }).toEqual({ id, provider, offered: true });
      }
    }
  });
});
