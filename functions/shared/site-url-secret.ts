/** JSON field of the site-URL secret that holds `https://<host>` (lib/constructs/site-url.ts writes it). */
export const SITE_URL_FIELD = 'siteUrl';
/** Environment variable of the web function that holds the site-URL secret's ARN (functions/dify-web-image). */
export const SITE_URL_SECRET_VARIABLE = 'DIFY_EDGE_SITE_URL_SECRET';
