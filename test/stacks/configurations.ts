/** Every optional feature switched on, so acknowledgements that only some configurations need are exercised too. */
export const EVERYTHING_ON: Record<string, unknown> = {
  nat: 'gateway',
  retainData: false,
  domain: { name: 'dify.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-1' },
  api: { keepWarm: true, provisionedConcurrency: 1 },
  backend: { enableExec: true, onDemandBase: 1, onDemandWeight: 1, sandboxNetwork: true },
  waf: { allowedIpv4Cidrs: ['203.0.113.0/24'], allowedIpv6Cidrs: ['2001:db8::/32'], allowedCountries: ['JP'] },
  bedrockKnowledgeBases: { knowledgeBaseIds: ['KBAAAAAAAA', 'KBBBBBBBBB'], region: 'us-east-1' },
};
