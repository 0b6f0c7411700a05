import { Annotations, Match } from 'aws-cdk-lib/assertions';
import {
  SNAPSTART_AFTER_RESTORE_PATH,
  SNAPSTART_BEFORE_CHECKPOINT_PATH,
  SNAPSTART_OPT_IN_INFO,
} from '../lib/constructs/api-function';
import { synthDifyApp } from './support/synth';

describe('api SnapStart switch', () => {
  const on = synthDifyApp({ api: { snapStart: true } });
  const off = synthDifyApp();

  test('on: SnapStart on published versions, hook paths for the adapter, /tmp within the SnapStart limit', () => {
    on.regionalTemplate.hasResourceProperties('AWS::Lambda::Function', {
      PackageType: 'Image',
      SnapStart: { ApplyOn: 'PublishedVersions' },
      EphemeralStorage: { Size: 512 },
      Environment: {
        Variables: Match.objectLike({
          AWS_LWA_ASYNC_INIT: 'false',
          AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH: SNAPSTART_BEFORE_CHECKPOINT_PATH,
          AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH: SNAPSTART_AFTER_RESTORE_PATH,
        }),
      },
    });
  });

  test('on: the alias serves a published version (SnapStart never applies to $LATEST) without provisioned concurrency', () => {
    const aliases = on.regionalTemplate.findResources('AWS::Lambda::Alias', { Properties: { Name: 'live' } });
    const versions = on.regionalTemplate.findResources('AWS::Lambda::Version');
    const live = Object.values(aliases).find((alias) => {
      const version = (alias.Properties as { FunctionVersion?: { 'Fn::GetAtt'?: string[] } }).FunctionVersion;
      return version?.['Fn::GetAtt']?.[1] === 'Version' && versions[version['Fn::GetAtt'][0]] !== undefined;
    });
    expect(live).toBeDefined();
    expect(live?.Properties).not.toHaveProperty('ProvisionedConcurrencyConfig');
    // No opt-in notice once it is on.
    expect(Annotations.fromStack(on.regional).findInfo('*', Match.stringLikeRegexp(SNAPSTART_OPT_IN_INFO))).toEqual([]);
  });

  test('off (default): no SnapStart, no hook paths, async init, and the reason it is opt-in is printed at synth', () => {
    off.regionalTemplate.hasResourceProperties('AWS::Lambda::Function', {
      PackageType: 'Image',
      SnapStart: Match.absent(),
      Environment: {
        Variables: Match.objectLike({
          AWS_LWA_ASYNC_INIT: 'true',
          AWS_LWA_PORT: '5001',
          AWS_LWA_SNAPSTART_BEFORE_CHECKPOINT_PATH: Match.absent(),
          AWS_LWA_SNAPSTART_AFTER_RESTORE_PATH: Match.absent(),
        }),
      },
    });
    Annotations.fromStack(off.regional).hasInfo(
      '*',
      Match.stringLikeRegexp(`${SNAPSTART_OPT_IN_INFO}.*api.snapStart is off \\(opt-in\\).*container images`),
    );
  });

  test('the web function is never snapshotted (docs/adr/0017)', () => {
    const functions = on.regionalTemplate.findResources('AWS::Lambda::Function', {
      Properties: { PackageType: 'Image', SnapStart: { ApplyOn: 'PublishedVersions' } },
    });
    expect(Object.keys(functions)).toHaveLength(1);
    expect(Object.keys(functions)[0]).toMatch(/Api/);
  });
});
