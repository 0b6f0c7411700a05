import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { waitForRolePolicies } from '../custom-resource-permissions';

import { SITE_URL_FIELD } from '../../functions/shared/site-url-secret';

export { SITE_URL_FIELD };

export type SiteUrlProps = Record<string, never>;

/**
 * Where Dify learns its public URL. Dify needs it for the URLs it shows and signs (API base URL, web app links, file
 * and webhook URLs) and for `Secure` cookies; left empty it falls back to the request's Host, which behind OAC is the
 * function URL's host. The distribution's name only exists after the distribution, which depends on the api
 * function, so the function cannot take it as a plain environment value (a dependency cycle). Instead the value
 * lives in a secret that exists first (the function holds only its ARN) and is written once the distribution exists;
 * the api reads it in the same single BatchGetSecretValue call as its real secrets (docs/adr/0006).
 */
export class SiteUrl extends Construct {
  /** Holds `{"siteUrl": "https://..."}`; not secret, kept here so start-up needs no second AWS call. */
  readonly secret: secretsmanager.Secret;

  constructor(scope: Construct, id: string, _props: SiteUrlProps = {}) {
    super(scope, id);
    this.secret = new secretsmanager.Secret(this, 'Setting', {
      description: 'Dify public site URL (written by the stack once the CloudFront distribution exists)',
      // A placeholder until publish() writes the value; generated so the template holds no literal secret string.
      generateSecretString: {
        secretStringTemplate: JSON.stringify({ [SITE_URL_FIELD]: '' }),
        generateStringKey: 'placeholder',
        excludePunctuation: true,
      },
      removalPolicy: RemovalPolicy.DESTROY,
    });
  }

  /** Writes the URL into the secret after the distribution (or domain) exists. Consumers must depend on the result. */
  publish(url: string): cr.AwsCustomResource {
    const call: cr.AwsSdkCall = {
      service: 'SecretsManager',
      action: 'PutSecretValue',
      parameters: { SecretId: this.secret.secretArn, SecretString: JSON.stringify({ [SITE_URL_FIELD]: url }) },
      physicalResourceId: cr.PhysicalResourceId.of('dify-site-url'),
    };
    const publish = new cr.AwsCustomResource(this, 'Publish', {
      onCreate: call,
      onUpdate: call,
      policy: cr.AwsCustomResourcePolicy.fromSdkCalls({ resources: [this.secret.secretArn] }),
      installLatestAwsSdk: false,
    });
    // AwsCustomResource waits for its own policy; this also covers any other policy on the shared singleton role.
    const resource = publish.node.defaultChild;
    if (!resource || !(publish.grantPrincipal instanceof iam.Role)) {
      throw new Error('SiteUrl: AwsCustomResource no longer exposes its custom resource and role');
    }
    waitForRolePolicies(resource, publish.grantPrincipal);
    return publish;
  }
}
