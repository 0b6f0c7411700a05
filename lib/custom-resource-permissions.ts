import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';

/**
 * Makes a custom resource wait for every IAM policy attached to the roles under `scopes` (its handler functions, the
 * Provider framework's functions and state machine, or an AwsCustomResource's role). CloudFormation creates a
 * separate AWS::IAM::Policy in parallel with anything that does not depend on it, so without these edges a custom
 * resource can be invoked before its permissions exist and fail with AccessDenied on the first deploy
 * (https://github.com/aws/aws-cdk/issues/33688). Call it after the last grant: a policy added later is not covered
 * (test/stacks/custom-resource-permissions.test.ts checks the synthesized template).
 */
export function waitForRolePolicies(customResource: IConstruct, ...scopes: IConstruct[]): void {
  const stack = Stack.of(customResource);
  const roleRefs = new Set(
    scopes
      .flatMap((scope) => scope.node.findAll())
      .filter((c): c is iam.CfnRole => c instanceof iam.CfnRole)
      .map((role) => JSON.stringify(stack.resolve(role.ref))),
  );
  const policies = stack.node
    .findAll()
    .filter((c): c is iam.CfnPolicy => c instanceof iam.CfnPolicy)
    .filter((policy) => {
      const roles: unknown = stack.resolve(policy.roles);
      return Array.isArray(roles) && roles.some((role) => roleRefs.has(JSON.stringify(role)));
    });
  if (policies.length > 0) customResource.node.addDependency(...policies);
}
