/** Environment variable names the construct sets (lib/constructs/upload-relay.ts) and the handler reads. */
export const ENVIRONMENT = {
  /** `https://<id>.lambda-url.<region>.on.aws` of the api's live alias. */
  apiUrl: 'API_FUNCTION_URL',
  /** `http://backend.dify.internal:5002`. */
  pluginDaemonUrl: 'PLUGIN_DAEMON_URL',
  /** ARN of the secret holding `{"current": ..., "previous": ...}` (the origin header values). */
  originSecretArn: 'ORIGIN_SECRET_ARN',
  /** ARN of the site-URL secret (`{"siteUrl": "https://..."}`, lib/constructs/site-url.ts). */
  siteUrlSecretArn: 'SITE_URL_SECRET_ARN',
  /** `<cluster name>/<service name>` of the backend service, set only while backend sleep is on (docs/adr/0018). */
  backendService: 'BACKEND_SERVICE',
} as const;
