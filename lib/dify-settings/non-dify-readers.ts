import { DifyImageId } from './facts';

/**
 * Container settings that are read by something other than Dify's code, so the generated facts cannot list them.
 * test/dify/settings-read.test.ts accepts a container's variable when the image's facts list it, when
 * read-by-runtime.ts does, or when an entry here matches; it also fails on an entry that no container uses, so
 * the list stays as small as what the app really sets.
 */
export interface NonDifyReader {
  /** The exact variable name. */
  readonly name: string;
  /** Images whose containers may carry it. */
  readonly images: readonly DifyImageId[];
  /** True when the reader ships only in our Lambda images (functions/dify-api-image, functions/dify-web-image). */
  readonly lambdaOnly: boolean;
  /** What reads it. */
  readonly reader: string;
  /** Where to check that it does. */
  readonly source: string;
  /** A file of this repository that reads it; the test checks that the name appears there. */
  readonly readerFile?: string;
}

const LWA_SOURCE = 'awslabs/aws-lambda-web-adapter README, "Configurations" (environment variables table)';
const LWA_READER = 'Lambda Web Adapter extension, copied to /opt/extensions by functions/dify-*-image/Dockerfile';

function lambdaWebAdapter(name: string, images: readonly DifyImageId[]): NonDifyReader {
  return { name, images, lambdaOnly: true, reader: LWA_READER, source: LWA_SOURCE };
}

export const NON_DIFY_READERS: readonly NonDifyReader[] = [
  lambdaWebAdapter('AWS_LWA_PORT', ['dify-api', 'dify-web']),
  lambdaWebAdapter('AWS_LWA_READINESS_CHECK_PATH', ['dify-api', 'dify-web']),
  lambdaWebAdapter('AWS_LWA_ASYNC_INIT', ['dify-api', 'dify-web']),
  lambdaWebAdapter('AWS_LWA_INVOKE_MODE', ['dify-api', 'dify-web']),
  lambdaWebAdapter('AWS_LWA_AUTHORIZATION_SOURCE', ['dify-api']),
  // SnapStart hooks (LWA 1.1.0, aws-lambda-web-adapter PRs #837 and #871); set only with api.snapStart.
  lambdaWebAdapter('AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH', ['dify-api']),
  lambdaWebAdapter('AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH', ['dify-api']),
  {
    name: 'DIFY_EDGE_SECRETS',
    images: ['dify-api'],
    lambdaOnly: true,
    reader: 'our secrets loader, run by the api Lambda image before Dify starts',
    source: 'functions/dify-api-image/secrets_loader.py',
    readerFile: 'functions/dify-api-image/secrets_loader.py',
  },
  {
    name: 'DIFY_EDGE_SECRET_IDS',
    images: ['dify-api'],
    lambdaOnly: true,
    reader: 'our secrets loader, run by the api Lambda image before Dify starts',
    source: 'functions/dify-api-image/secrets_loader.py',
    readerFile: 'functions/dify-api-image/secrets_loader.py',
  },
  {
    name: 'DIFY_EDGE_TEMPLATES',
    images: ['dify-api'],
    lambdaOnly: true,
    reader: 'our secrets loader, run by the api Lambda image before Dify starts',
    source: 'functions/dify-api-image/secrets_loader.py',
    readerFile: 'functions/dify-api-image/secrets_loader.py',
  },
  {
    // Set only with backend sleep on (backend.sleep.mode other than 'off'): `<cluster>/<service>` to wake.
    name: 'DIFY_EDGE_WAKE',
    images: ['dify-api'],
    lambdaOnly: true,
    reader: "our api image: its entry script then loads the wake middleware around Dify's app",
    source: 'functions/dify-api-image/backend_wake.py',
    readerFile: 'functions/dify-api-image/backend_wake.py',
  },
  {
    name: 'DIFY_EDGE_SITE_URL_SECRET',
    images: ['dify-web'],
    lambdaOnly: true,
    reader: 'our entry script of the web Lambda image, which reads the site URL from it before Dify starts',
    source: 'functions/dify-web-image/lambda-entrypoint.sh',
    readerFile: 'functions/dify-web-image/lambda-entrypoint.sh',
  },
  {
    // Read by no process on purpose: a value that changes with the custom domain makes CloudFormation replace
    // the backend task definitions and publish a new api version, so every container re-reads the site URL.
    name: 'DIFY_EDGE_SITE_DOMAIN',
    images: ['dify-api'],
    lambdaOnly: false,
    reader: 'none: a deployment marker that changes with the custom domain',
    source: 'lib/dify-environment.ts',
  },
  {
    // psycopg2 (Dify's PostgreSQL driver) connects through libpq, which takes sslmode from PGSSLMODE when the
    // connection string has none; the pgvector connections Dify builds have none.
    name: 'PGSSLMODE',
    images: ['dify-api'],
    lambdaOnly: false,
    reader: 'libpq, under psycopg2',
    source: 'PostgreSQL docs, libpq "Environment Variables" (PGSSLMODE behaves the same as the sslmode parameter)',
  },
  {
    // dify-sandbox serves HTTP with gin (dify-sandbox internal/server/server.go imports github.com/gin-gonic/gin);
    // Dify's docker/docker-compose.yaml sets GIN_MODE on its sandbox service.
    name: 'GIN_MODE',
    images: ['sandbox'],
    lambdaOnly: false,
    reader: 'gin-gonic/gin, read at package init',
    source: 'gin-gonic/gin mode.go (EnvGinMode = "GIN_MODE", read by init())',
  },
];
