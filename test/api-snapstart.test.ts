import { Match } from 'aws-cdk-lib/assertions';
import { synthDifyApp } from './support/synth';

describe('api SnapStart switch', () => {
  test('on: SnapStart on published versions, synchronous LWA init, /tmp within the SnapStart limit', () => {
    const { regionalTemplate } = synthDifyApp({ api: { snapStart: true } });
    regionalTemplate.hasResourceProperties('AWS::Lambda::Function', {
      PackageType: 'Image',
      SnapStart: { ApplyOn: 'PublishedVersions' },
      EphemeralStorage: { Size: 512 },
      Environment: { Variables: Match.objectLike({ AWS_LWA_ASYNC_INIT: 'false' }) },
    });
  });

  test('off (default): no SnapStart, async init', () => {
    const { regionalTemplate } = synthDifyApp();
    regionalTemplate.hasResourceProperties('AWS::Lambda::Function', {
      PackageType: 'Image',
      SnapStart: Match.absent(),
      Environment: { Variables: Match.objectLike({ AWS_LWA_ASYNC_INIT: 'true', AWS_LWA_PORT: '5001' }) },
    });
  });
});
