import { Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import { ENVIRONMENT } from '../../functions/bedrock-knowledge/environment';
import { llrtFunction } from '../llrt-function';

export interface BedrockKnowledgeApiProps {
  /** Knowledge bases Dify may retrieve from; the role may call `bedrock:Retrieve` on these only. */
  readonly knowledgeBaseIds: readonly string[];
  /**
   * Region of the knowledge bases.
   * @default the stack's region
   */
  readonly knowledgeBaseRegion?: string;
  /**
   * Keep the API key when the stack is deleted (Dify keeps using the registered key until it is changed there).
   * @default true
   */
  readonly retainData?: boolean;
}

/** Length of the generated API key: alphanumeric, about 285 bits. */
export const API_KEY_LENGTH = 48;

/**
 * Dify's External Knowledge API for Amazon Bedrock Knowledge Bases (docs/adr/0012): an LLRT function behind a
 * function URL with AuthType NONE, protected by a bearer key that Secrets Manager generates (never in a template).
 * It runs outside the VPC: it only calls public AWS endpoints, and Dify's api and worker reach the URL through NAT.
 */
export class BedrockKnowledgeApi extends Construct {
  readonly function: lambda.Function;
  readonly url: lambda.FunctionUrl;
  readonly apiKey: secretsmanager.Secret;
  /** What to paste into Dify as the endpoint: the function URL without its trailing slash. */
  readonly endpoint: string;

  constructor(scope: Construct, id: string, props: BedrockKnowledgeApiProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const region = props.knowledgeBaseRegion ?? stack.region;

    this.apiKey = new secretsmanager.Secret(this, 'ApiKey', {
      description: 'API key Dify presents to the Bedrock Knowledge Bases External Knowledge API (Bearer)',
      removalPolicy: (props.retainData ?? true) ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      // Alphanumeric: it travels in an HTTP header and is pasted into Dify's form.
      generateSecretString: { passwordLength: API_KEY_LENGTH, excludePunctuation: true, includeSpace: false },
    });

    this.function = llrtFunction(this, 'Function', {
      source: 'functions/bedrock-knowledge/index.ts',
      description: 'Dify External Knowledge API over Amazon Bedrock Knowledge Bases (LLRT)',
      runtimeProvidedSdk: ['@aws-sdk/client-secrets-manager'],
      environment: {
        [ENVIRONMENT.knowledgeBaseIds]: props.knowledgeBaseIds.join(','),
        [ENVIRONMENT.knowledgeBaseRegion]: region,
        [ENVIRONMENT.apiKeySecretArn]: this.apiKey.secretArn,
      },
    });
    this.apiKey.grantRead(this.function);
    this.function.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['bedrock:Retrieve'],
        resources: props.knowledgeBaseIds.map((kb) =>
          stack.formatArn({ service: 'bedrock', region, resource: 'knowledge-base', resourceName: kb }),
        ),
      }),
    );

    // AuthType NONE: Dify cannot sign requests (SigV4), so the bearer key is the authentication (docs/adr/0012).
    this.url = this.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    this.endpoint = `https://${Fn.select(2, Fn.split('/', this.url.url))}`;
  }
}
