import { Duration } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { ContainerSettings } from '../dify-environment';

/** ECS injects secrets natively (the execution role reads them); no value ever lands in the task definition. */
export function ecsSecrets(settings: ContainerSettings): Record<string, ecs.Secret> {
  const out: Record<string, ecs.Secret> = {};
  for (const [name, ref] of Object.entries(settings.secrets)) {
    out[name] = ecs.Secret.fromSecretsManager(ref.secret, ref.field);
  }
  return out;
}

/**
 * Wraps an image's own entrypoint so templated values (e.g. the Celery broker URL, which embeds the Redis password
 * that ECS injected as a secret) are composed inside the container and never written into the task definition.
 * Returns the entryPoint/command pair for a bash-based image.
 */
export function entrypointWithTemplates(
  settings: ContainerSettings,
  next: string,
): { entryPoint: string[]; command: string[] } {
  const exports = Object.entries(settings.templates).map(([name, template]) => `export ${name}="${template}"`);
  return { entryPoint: ['/bin/bash', '-c'], command: [[...exports, `exec ${next}`].join('; ')] };
}

/**
 * A container health check that needs nothing but the Python every Dify api and plugin-daemon image ships
 * (curl is not guaranteed in them).
 */
export function httpHealthCheck(url: string): ecs.HealthCheck {
  return {
    command: [
      'CMD-SHELL',
      `python3 -c "import urllib.request,sys; urllib.request.urlopen('${url}', timeout=4)" || exit 1`,
    ],
    interval: Duration.seconds(30),
    timeout: Duration.seconds(5),
    retries: 3,
    startPeriod: Duration.seconds(120),
  };
}

/**
 * Celery has no HTTP port: the check passes while a process of the given kind runs in the container, i.e. one whose
 * arguments include an executable named `celery` and the exact word `worker` or `beat`. Matching whole arguments
 * (not substrings) and skipping its own process and the shell ECS runs it in keeps the check from finding itself:
 * its own command line holds both words inside the script text. A process that exits while the check reads /proc
 * is skipped, not an error. The script spans lines (a `try` needs them); `sh -c` keeps them inside the quotes.
 */
export function celeryProcessHealthCheck(kind: 'worker' | 'beat'): ecs.HealthCheck {
  const script = [
    'import os, sys',
    'skip = {os.getpid(), os.getppid()}',
    'def argv(pid):',
    '    try:',
    "        return open('/proc/%s/cmdline' % pid, 'rb').read().split(b'\\0')",
    '    except OSError:',
    '        return []',
    "pids = [int(p) for p in os.listdir('/proc') if p.isdigit() and int(p) not in skip]",
    `found = any(any(os.path.basename(a) == b'celery' for a in args) and b'${kind}' in args for args in map(argv, pids))`,
    'sys.exit(0 if found else 1)',
  ].join('\n');
  return {
    command: ['CMD-SHELL', `python3 -c "${script}" || exit 1`],
    interval: Duration.seconds(30),
    timeout: Duration.seconds(5),
    retries: 3,
    startPeriod: Duration.seconds(120),
  };
}

/**
 * Makes a service wait for the cluster's capacity-provider association, so CloudFormation also deletes the service
 * first: deleting the association while a service still uses FARGATE/FARGATE_SPOT fails with "The specified
 * capacity provider is in use" and `cdk destroy` stops. CDK creates the AWS::ECS::ClusterCapacityProviderAssociations
 * lazily at synthesis (an aspect adds it under the cluster), so the dependency names the cluster construct, which
 * resolves to everything under it (the cluster and the association) when the template is written.
 */
export function waitForCapacityProviders(service: ecs.BaseService, cluster: ecs.ICluster): void {
  service.node.addDependency(cluster);
}
