import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { summarize } from '../bin/synth-summary';
import { synthDifyApp } from './support/synth';

describe('synth summary', () => {
  test('names the template directory, both stacks with their regions, and the main resources', () => {
    const { app } = synthDifyApp({ waf: { allowedIpv4Cidrs: ['203.0.113.0/24'] } });
    const assembly = app.synth();
    const text = summarize(assembly.directory);

    expect(text).toContain(`Templates are in ${path.resolve(assembly.directory)}`);
    expect(text).toMatch(/Stack DifyEdge-Edge \(us-east-1\): \d+ resources/);
    expect(text).toMatch(/Stack DifyEdge-Regional \(ap-northeast-1\): \d+ resources/);
    expect(text).toContain('1 × WAF IP set');
    expect(text).toContain('1 × CloudFront distribution');
    // api, web and the upload relay (docs/adr/0016).
    expect(text).toContain('3 × Lambda function URL');
    // The plugin daemon's working path (docs/adr/0020) and the sleep controller's schedule (docs/adr/0018).
    expect(text).toContain('1 × EFS file system (plugin daemon working path)');
    expect(text).toMatch(/\d+ × EventBridge rule/);
    expect(text).toContain('container images (built at deploy, pushed to ECR): ');
    for (const image of [
      'langgenius/dify-api:1.13.3 (ECS)',
      'langgenius/dify-plugin-daemon:0.5.3-local (ECS)',
      'langgenius/dify-sandbox:0.2.14 (ECS)',
      'langgenius/dify-api:1.13.3 + Web Adapter (Lambda)',
      'langgenius/dify-web:1.13.3 + Web Adapter (Lambda)',
      'langgenius/dify-api:1.13.3 + running-task hook (ECS workers)',
    ]) {
      expect(text).toContain(image);
    }
    expect(text).toContain('npx cdk deploy --all');
  });

  test('says when LLRT functions hold the offline placeholder: those templates are not deployable', () => {
    const { app } = synthDifyApp({ bedrockKnowledgeBases: { knowledgeBaseIds: ['KBAAAAAAAA'] } });
    const text = summarize(app.synth().directory);
    expect(text).toMatch(
      /! NOT DEPLOYABLE: UploadRelayFunction\w+, BedrockKnowledgeFunction\w+ hold\(s\) an LLRT placeholder/,
    );
    expect(text).toContain('These templates are not deployable: 2 LLRT function(s) got a placeholder binary');
  });

  test('the default lambda mode holds one LLRT function, the upload relay', () => {
    const { app } = synthDifyApp({});
    expect(summarize(app.synth().directory)).toMatch(/! NOT DEPLOYABLE: UploadRelayFunction\w+ hold\(s\) an LLRT/);
  });

  test('no placeholder warning when no LLRT function exists (alb mode has no relay)', () => {
    const { app } = synthDifyApp({ hosting: 'alb' });
    expect(summarize(app.synth().directory)).not.toContain('NOT DEPLOYABLE');
  });

  test('fails clearly when nothing was synthesized', () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'dify-edge-empty-'));
    expect(() => summarize(empty)).toThrow(/manifest\.json not found: run `npx cdk synth` first/);
  });
});
