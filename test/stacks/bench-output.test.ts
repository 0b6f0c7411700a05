import { flatten, outputValue, removeSynthOutputs, synthTemplates } from './template-helpers';

afterAll(removeSynthOutputs);

describe('BenchColdStartCommand output', () => {
  test('lambda hosting: names the api function, its live alias, the region and the site URL', () => {
    const { regional } = synthTemplates({ domain: undefined });
    const command = flatten(outputValue(regional, 'BenchColdStartCommand'));
    expect(command).toMatch(/^npm run bench -- cold-start --region ap-northeast-1 --function /);
    expect(command).toContain('--alias live --restore-alias');
    expect(command).toMatch(/--url https:\/\/<GetAtt:EdgeDistribution[A-Z0-9]+\.DomainName>\/console\/api\/setup/);
  });

  test('with a custom domain the URL is the domain', () => {
    const { regional } = synthTemplates({
      domain: { name: 'dify.example.com', certificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc-1' },
    });
    expect(flatten(outputValue(regional, 'BenchColdStartCommand'))).toContain(
      '--url https://dify.example.com/console/api/setup',
    );
  });

  test('alb hosting has no function to cold-start', () => {
    const { regional } = synthTemplates({ hosting: 'alb' });
    expect(regional.Outputs?.BenchColdStartCommand).toBeUndefined();
  });
});
