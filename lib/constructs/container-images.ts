import * as ecrAssets from 'aws-cdk-lib/aws-ecr-assets';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as path from 'node:path';
import { Construct } from 'constructs';
import { PROJECT_ROOT } from '../bundled-function';

export interface ContainerImagesProps {
  /** Tag of langgenius/dify-api and langgenius/dify-web. */
  readonly difyVersion: string;
  /** Tag of langgenius/dify-plugin-daemon. */
  readonly pluginDaemonVersion: string;
  /** Tag of langgenius/dify-sandbox. */
  readonly sandboxVersion: string;
}

/**
 * The langgenius images the ECS tasks run, copied into the account's ECR at deploy time (docs/adr/0014). Docker Hub
 * allows 10 anonymous pulls per hour per IPv4 address (Docker docs "Usage and limits"): every task start behind the
 * one NAT address of this deployment would count, and a deploy or a few Spot replacements would fail with
 * `toomanyrequests`. The copy is built by the machine that runs `cdk deploy` (one pull per image and version) and
 * pushed to the CDK assets repository; layers shared with the api's Lambda image are stored once.
 *
 * Each image is created on first use, so a hosting mode that does not run an image does not build or push it.
 */
export class ContainerImages extends Construct {
  private readonly props: ContainerImagesProps;
  private readonly cache = new Map<string, ecs.ContainerImage>();

  constructor(scope: Construct, id: string, props: ContainerImagesProps) {
    super(scope, id);
    this.props = props;
  }

  /** langgenius/dify-api: api (ALB mode), internal api, beat, migration. */
  get difyApi(): ecs.ContainerImage {
    return this.mirror('DifyApi', `langgenius/dify-api:${this.props.difyVersion}`);
  }

  /** langgenius/dify-web (ALB mode). */
  get difyWeb(): ecs.ContainerImage {
    return this.mirror('DifyWeb', `langgenius/dify-web:${this.props.difyVersion}`);
  }

  /**
   * langgenius/dify-api plus our running-task hook for the Celery workers (functions/dify-backend-image, backend
   * sleep: docs/adr/0018). Built like the copies, on the deploying machine; its base layers are those of the
   * dify-api copy, stored once.
   */
  get difyWorker(): ecs.ContainerImage {
    let image = this.cache.get('DifyWorker');
    if (!image) {
      image = ecs.ContainerImage.fromDockerImageAsset(
        new ecrAssets.DockerImageAsset(this, 'DifyWorker', {
          directory: path.join(PROJECT_ROOT, 'functions/dify-backend-image'),
          buildArgs: { DIFY_VERSION: this.props.difyVersion },
          platform: ecrAssets.Platform.LINUX_AMD64,
        }),
      );
      this.cache.set('DifyWorker', image);
    }
    return image;
  }

  get pluginDaemon(): ecs.ContainerImage {
    return this.mirror('PluginDaemon', `langgenius/dify-plugin-daemon:${this.props.pluginDaemonVersion}`);
  }

  get sandbox(): ecs.ContainerImage {
    return this.mirror('Sandbox', `langgenius/dify-sandbox:${this.props.sandboxVersion}`);
  }

  private mirror(id: string, sourceImage: string): ecs.ContainerImage {
    let image = this.cache.get(id);
    if (!image) {
      const asset = new ecrAssets.DockerImageAsset(this, id, {
        directory: path.join(PROJECT_ROOT, 'functions/image-mirror'),
        buildArgs: { SOURCE_IMAGE: sourceImage },
        platform: ecrAssets.Platform.LINUX_AMD64,
      });
      image = ecs.ContainerImage.fromDockerImageAsset(asset);
      this.cache.set(id, image);
    }
    return image;
  }
}
